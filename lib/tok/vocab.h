/* tok/vocab.h — the vocabulary size a tokenizer file implies, for sizing a fresh model. */
#ifndef RAD_VOCAB_H
#define RAD_VOCAB_H

/* HF tokenizer.json: 1 + the largest id of model.vocab and added_tokens; a GPT-2
 * encoder.json ({token: id}): 1 + the largest id.  Returns the size, or -1 with *err. */
int rad_vocab_size_of(const char *path, const char **err);

#endif
