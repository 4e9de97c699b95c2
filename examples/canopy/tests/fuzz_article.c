/*
 * fuzz_article.c -- fuzz target for what canopy parses from a blog's
 * content: the article header (article.c), then the markdown of the body
 * and abstract (md4c) and the escaping of the header's fields
 * (strbuf.c). Properties: a value is exactly one of article, redirect or
 * invalid (with a reason); an article has a title and an author and its
 * body lies inside the input; escaped text holds no raw '<', '>' or '"'.
 * Run by tests/fuzz/fuzz_main.c over tests/corpus/article/.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../../tests/fuzz/fuzz.h"
#include "../article.h"
#include "../render.h"
#include "../strbuf.h"

static void check_escaped(const char *s)
{
	strbuf sb = STRBUF_INIT;
	sb_html(&sb, s);
	FUZZ_CHECK(!sb.failed);
	FUZZ_CHECK(!strpbrk(sb.ptr, "<>\"'"));
	sb_free(&sb);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	article_header h;
	char *redirect = NULL;
	char err[160] = "";
	content_kind k = article_parse(&h, &redirect, err, sizeof(err), (const char *)data, size);
	if (k == CONTENT_ARTICLE) {
		FUZZ_CHECK(h.title && h.title[0] && h.author && h.author[0]);
		FUZZ_CHECK(h.body >= (const char *)data &&
			   h.body + h.body_len == (const char *)data + size);
		FUZZ_CHECK(!redirect);
		check_escaped(h.title);
		check_escaped(h.author);
		for (size_t i = 0; i < h.ntags; i++) {
			FUZZ_CHECK(h.tags[i][0]);
			check_escaped(h.tags[i]);
		}
		strbuf html = STRBUF_INIT;
		FUZZ_CHECK(render_markdown(&html, h.body, h.body_len) == 0);
		if (h.abstract_md)
			FUZZ_CHECK(render_markdown(&html, h.abstract_md, strlen(h.abstract_md)) ==
				   0);
		FUZZ_CHECK(!html.failed);
		sb_free(&html);
		article_header_dispose(&h);
	} else if (k == CONTENT_REDIRECT) {
		FUZZ_CHECK(redirect && redirect[0] && !strchr(redirect, '\n'));
		free(redirect);
	} else {
		FUZZ_CHECK(k == CONTENT_INVALID && err[0] && !redirect);
	}
	return 0;
}
