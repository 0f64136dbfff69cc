/* base/sha256.h — SHA-256 (FIPS 180-4), for ids that must match other tools' ids: the
 * prompt_id of HuggingFaceH4/ultrafeedback_binarized is the hex SHA-256 of the prompt. */
#ifndef RAD_SHA256_H
#define RAD_SHA256_H

#include <stddef.h>
#include <stdint.h>

void rad_sha256(const void *data, size_t n, uint8_t out[32]);
/* 64 lowercase hex digits and a NUL. */
void rad_sha256_hex(const void *data, size_t n, char out[65]);

#endif
