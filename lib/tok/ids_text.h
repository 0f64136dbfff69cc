/* tok/ids_text.h — token ids as text: decimal numbers separated by spaces, the form
 * rad-tokenize --text prints and --decode reads (man 1 rad-tokenize). */
#ifndef RAD_IDS_TEXT_H
#define RAD_IDS_TEXT_H

#include "base/io.h"
#include "tok/tokenizer.h"

/* ids[n] as one line: "1 22 333\n". */
void rad_ids_print(rad_sink *k, const int32_t *ids, size_t n);

/* Decodes text, ids separated by white space, appending their bytes to out and adding
 * their number to *count.  Returns 0, or -1 with err ("byte 4: not a token id"); out then
 * holds the bytes of the ids before the bad one. */
int rad_tok_decode_text(const rad_tokenizer *t, const char *text, int flags, rad_text *out,
                        long long *count, char *err, size_t errsz);

#endif
