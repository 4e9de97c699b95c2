/*
 * refname.c -- branch names. A branch is the git ref refs/heads/<name>,
 * so its name follows git check-ref-format --branch: a name git itself
 * would accept, so that a store can be pushed to and cloned from any git
 * remote and inspected with ordinary git. We are stricter than git in two
 * places where git only warns or needs context: "HEAD" and a leading '-'
 * (which a command line would read as an option) are refused.
 */
#include "path.h"

/*
 * Copy s into buf for an error message, control characters as '?', so
 * that the message stays one line whatever the input holds.
 */
static const char *quote(char *buf, size_t cap, const char *s)
{
	size_t i;

	for (i = 0; i + 1 < cap && s[i]; i++)
		buf[i] = (unsigned char)s[i] < 0x20 || s[i] == 0x7f ? '?' : s[i];
	buf[i] = '\0';
	return buf;
}

#define HEADS "refs/heads/"

/* Why one '/'-separated component is not allowed, or NULL. */
static const char *component_problem(const char *c, size_t len)
{
	if (len == 0)
		return "empty component (leading, trailing or doubled '/')";
	if (c[0] == '.')
		return "component starts with '.'";
	if (len >= 5 && !memcmp(c + len - 5, ".lock", 5))
		return "component ends with '.lock'";
	return NULL;
}

/* Why a character (with the one after it) is not allowed, or NULL. */
static const char *char_problem(const char *p)
{
	unsigned char c = (unsigned char)*p;

	if (c < 0x20 || c == 0x7f)
		return "holds a control character";
	if (c == ' ')
		return "holds a space";
	if (strchr("~^:?*[\\", c))
		return "holds one of ~ ^ : ? * [ \\";
	if (c == '.' && p[1] == '.')
		return "holds '..'";
	if (c == '@' && p[1] == '{')
		return "holds '@{'";
	return NULL;
}

static const char *name_problem(const char *name)
{
	const char *p, *start = name, *why;

	if (name[0] == '\0')
		return "empty name";
	if (!strcmp(name, "@"))
		return "'@' alone is not allowed";
	if (!strcmp(name, "HEAD"))
		return "'HEAD' is reserved";
	if (name[0] == '-')
		return "starts with '-'";
	for (p = name;; p++) {
		if (*p == '/' || *p == '\0') {
			if ((why = component_problem(start, (size_t)(p - start))))
				return why;
			if (*p == '\0')
				break;
			start = p + 1;
		} else if ((why = char_problem(p))) {
			return why;
		}
	}
	if (p[-1] == '.')
		return "ends with '.'";
	return NULL;
}

int gkv__branch_check(const char *name)
{
	const char *why;
	char q[512];

	if (!name)
		return gkv__error(GKV_E_INVALID, "invalid branch name: NULL");
	if ((why = name_problem(name)))
		return gkv__error(GKV_E_INVALID, "invalid branch name '%s': %s",
				  quote(q, sizeof(q), name), why);
	return 0;
}

/*
 * A full ref name, as git check-ref-format takes one: under "refs/", with
 * at least one component after it, each component and character under
 * the rules above (a branch's own refusals of "HEAD", "@" and a leading
 * '-' apply to the whole name, which starts with "refs/", so not here).
 */
int gkv__refname_check(const char *name)
{
	const char *why = NULL;
	char q[512];

	if (!name)
		return gkv__error(GKV_E_INVALID, "invalid ref name: NULL");
	if (strncmp(name, "refs/", 5) != 0)
		why = "does not start with 'refs/'";
	else
		why = name_problem(name);
	if (why)
		return gkv__error(GKV_E_INVALID, "invalid ref name '%s': %s",
				  quote(q, sizeof(q), name), why);
	return 0;
}

int gkv_branch_name_validate(const char *name)
{
	return gkv__branch_check(name);
}

int gkv__branch_ref(char **out, const char *name)
{
	size_t len;
	char *ref;
	int rc;

	if ((rc = gkv__branch_check(name)) < 0)
		return rc;
	len = strlen(name);
	if (!(ref = malloc(sizeof(HEADS) + len)))
		return gkv__oom();
	memcpy(ref, HEADS, sizeof(HEADS) - 1);
	memcpy(ref + sizeof(HEADS) - 1, name, len + 1);
	*out = ref;
	return 0;
}
