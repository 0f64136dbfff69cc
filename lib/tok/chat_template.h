/* tok/chat_template.h — chat templates and prompt/completion encoding (man 1 rad-tokenize).
 *
 * A template says how turns are written around their content.  Built-ins: "chatml"
 * (SmolLM, Qwen2), "qwen2.5", "qwen3" (non-thinking), "llama3", "gemma", "zephyr",
 * "mistral", "plain"; anything else is read
 * as a template file (format in the man page).  Template text such as "<|im_end|>" is
 * matched against the tokenizer's added tokens; message content is ordinary text unless
 * RAD_TOK_SPECIAL is given.
 *
 * Boundary rule: a prompt's ids are the encoding of the rendered prompt (turns +
 * assistant header) alone, so every completion of one prompt shares them.  A completion's
 * ids are the rest of the encoding of prompt + completion (content + end of turn) as one
 * text; when that encoding would merge a token across the boundary (only possible when
 * the header does not end in a special token or a newline), the completion is encoded
 * as a text of its own instead and the case is counted. */
#ifndef RAD_CHAT_TEMPLATE_H
#define RAD_CHAT_TEMPLATE_H

#include <stddef.h>
#include <stdint.h>
#include "tok/tokenizer.h"

typedef struct rad_template rad_template;

typedef struct rad_msg {
	const char *role;      /* "system", "user" or "assistant" */
	const char *content;   /* UTF-8, content_len bytes: it may hold NUL (JSON's \u0000) */
	size_t content_len;
} rad_msg;

/* A built-in name or a template file.  NULL with "why" in err on failure. */
rad_template *rad_template_load(const char *name_or_path, char *err, size_t errsz);
/* The same, fatal on failure (exit 2 for an unknown name, 1 for a bad file). */
rad_template *rad_template_open(const char *name_or_path);
void rad_template_free(rad_template *tp);
const char *rad_template_name(const rad_template *tp);
/* The built-in names, separated by spaces. */
const char *rad_template_builtins(void);
/* 1 when the template has a system role; 0 when system turns are refused (gemma). */
int rad_template_has_system(const rad_template *tp);
/* Hash of the template's definition (not of its name or path). */
uint64_t rad_template_fingerprint(const rad_template *tp);

/* The id that ends an assistant turn (e.g. <|im_end|>, <|eot_id|>, the tokenizer's eos):
 * where generation stops.  -1 when the tokenizer has no such token. */
int32_t rad_template_stop_id(const rad_template *tp, const rad_tokenizer *tok);

/* "TOKENIZERHASH-TEMPLATEHASH" (16 + 1 + 16 hex digits) for the stream header. */
void rad_chat_fingerprint(const rad_tokenizer *tok, const rad_template *tp, char out[64]);

/* Renders msgs[n] (+ the assistant header) and, if completion is not NULL, the completion
 * (an assistant turn; its role is not looked at) with its end of turn, as text into out
 * (for display and tests).  Returns 0, or -1 with err (e.g. a system turn for a template
 * without one, a role it does not know). */
int rad_chat_render(const rad_template *tp, const rad_tokenizer *tok, const rad_msg *msgs,
                    size_t n, const rad_msg *completion, rad_text *out, char *err, size_t errsz);

/* Encodes a prompt and k completions of it (assistant turns; their roles are not looked
 * at) under the boundary rule.  prompt gets the
 * prompt ids, completions[i] the ids of completion i (end of turn included); all are
 * appended to.  *forced (if not NULL) is increased by the number of completions whose
 * boundary had to be forced.  flags: RAD_TOK_SPECIAL applies to message content.
 * Returns 0, or -1 with err. */
int rad_chat_encode(rad_tokenizer *tok, const rad_template *tp, const rad_msg *msgs, size_t n,
                    const rad_msg *completions, size_t k, int flags, rad_ids *prompt,
                    rad_ids *completion_ids, long long *forced, char *err, size_t errsz);

#endif
