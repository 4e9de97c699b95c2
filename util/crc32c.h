/*
 * crc32c.h -- CRC-32C (Castagnoli), the checksum of lmdb format 3's
 * records: with the CPU's instruction where there is one (SSE 4.2 on
 * x86-64, 8 bytes a step), else a table a byte at a time. Both give the
 * same value, so a store moves freely between machines. Internal.
 */
#ifndef GKV_CRC32C_H
#define GKV_CRC32C_H

#include <stddef.h>
#include <stdint.h>

/* Continue crc (0 to start) over len bytes at data. */
uint32_t gkv__crc32c(uint32_t crc, const void *data, size_t len);

#endif
