/*
 * signature.c -- who made a commit and when. A signature becomes the
 * "Name <email> <time> <+hhmm>" of a commit's author and committer lines,
 * so what it may hold is what that line can carry unambiguously: no '<' or
 * '>' (they delimit the email), no newline (it ends the header), a time
 * git can read back and a zone that fits in sign + four digits.
 */
#include <time.h>

#include "codec.h"

/* git writes the zone as +hhmm: two digits of hours, two of minutes. */
#define MAX_OFFSET (99 * 60 + 59)

/* The first character of s that a signature line cannot carry, or 0. */
static char bad_char(const char *s)
{
	size_t n = strcspn(s, "<>\n");

	return s[n];
}

static int check_field(const char *what, const char *s)
{
	char c;

	if (!s)
		return gkv__error(GKV_E_INVALID, "invalid signature: %s is NULL", what);
	if ((c = bad_char(s)) != '\0')
		return gkv__error(GKV_E_INVALID, "invalid signature %s '%s': holds %s", what, s,
				  c == '\n'  ? "a newline"
				  : c == '<' ? "'<'"
					     : "'>'");
	return 0;
}

static int check(const char *name, const char *email, int64_t time, int offset)
{
	int rc;

	if ((rc = check_field("name", name)) < 0 || (rc = check_field("email", email)) < 0)
		return rc;
	/* git refuses to make a commit with an empty name; so do we. */
	if (name[0] == '\0')
		return gkv__error(GKV_E_INVALID, "invalid signature: empty name");
	/* git's timestamps are unsigned: fsck rejects a date before 1970. */
	if (time < 0)
		return gkv__error(GKV_E_INVALID,
				  "invalid signature time %lld for '%s': before 1970",
				  (long long)time, name);
	if (offset < -MAX_OFFSET || offset > MAX_OFFSET)
		return gkv__error(
		    GKV_E_INVALID,
		    "invalid signature zone offset %d minutes for '%s': beyond +-99:59", offset,
		    name);
	return 0;
}

static int make(gkv_signature **out, const char *name, const char *email, int64_t time, int offset)
{
	gkv_signature *sig = calloc(1, sizeof(*sig));

	if (!sig)
		return gkv__oom();
	sig->name = gkv__strdup(name);
	sig->email = gkv__strdup(email);
	if (!sig->name || !sig->email) {
		gkv_signature_free(sig);
		return gkv__oom();
	}
	sig->time = time;
	sig->offset = offset;
	*out = sig;
	return 0;
}

int gkv_signature_new(gkv_signature **out, const char *name, const char *email, int64_t time,
		      int offset_minutes)
{
	int rc;

	if (!out)
		return gkv__error(GKV_E_INVALID, "invalid signature: NULL out");
	if ((rc = check(name, email, time, offset_minutes)) < 0)
		return rc;
	return make(out, name, email, time, offset_minutes);
}

int gkv_signature_now(gkv_signature **out, const char *name, const char *email)
{
	return gkv_signature_new(out, name, email, (int64_t)time(NULL), 0);
}

int gkv__signature_dup(gkv_signature **out, const gkv_signature *sig)
{
	if (!sig)
		return gkv__error(GKV_E_INVALID, "cannot copy a NULL signature");
	return make(out, sig->name, sig->email, sig->time, sig->offset);
}

const char *gkv_signature_name(const gkv_signature *sig)
{
	return sig->name;
}

const char *gkv_signature_email(const gkv_signature *sig)
{
	return sig->email;
}

int64_t gkv_signature_time(const gkv_signature *sig)
{
	return sig->time;
}

int gkv_signature_offset(const gkv_signature *sig)
{
	return sig->offset;
}

void gkv_signature_free(gkv_signature *sig)
{
	if (!sig)
		return;
	free(sig->name);
	free(sig->email);
	free(sig);
}
