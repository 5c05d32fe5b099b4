// Copyright lqs authors. THE write-ahead-log file format, version 2 (see FORMAT.md).
//
//   file  wal-<16 hex digits: first LSN>.log, preallocated to its size: zero-filled when
//         created, or a released file recycled (kFileRecycled: stale bytes after the data)
//   +--------------------------------------+ 0
//   | FileHeader (64 B)                    |
//   | zeros up to 4096                     |   the header block is never rewritten
//   +--------------------------------------+ 4096 = kFirstRecordOffset
//   | RecordHeader (32 B) | payload | pad  |   padded to 8 bytes
//   | RecordHeader (32 B) | payload | pad  |
//   | ...                                  |
//   | 32 zero bytes (a zero RecordHeader = end of data; every write ends with one if it fits)
//   | zeros, or (recycled) stale records of earlier files: all LSNs < the file's first LSN
//   +--------------------------------------+ file size
//
// Integers are little-endian (the format is read and written only by x86-64 / arm64 hosts;
// a big-endian host would need byte swaps, asserted below).
#ifndef LQS_DURABILITY_WAL_FORMAT_HPP_
#define LQS_DURABILITY_WAL_FORMAT_HPP_

#include <bit>
#include <cstddef>
#include <cstdint>

namespace lqs::durability::format {

inline constexpr uint64_t kFileMagic = 0x314C4157'53514C00ull;  // "\0LQSWAL1" read as LE bytes
inline constexpr uint32_t kFormatVersion = 2;
/// Oldest version readers accept (1: no kFileRecycled, files only ever zero-filled).
inline constexpr uint32_t kMinFormatVersion = 1;
inline constexpr uint64_t kFirstRecordOffset = 4096;
inline constexpr uint64_t kRecordAlign = 8;
/// Largest payload: a 1 MiB SQS message plus its attributes and metadata, with room to spare.
inline constexpr uint32_t kMaxPayload = 1152u * 1024u;  // 1.125 MiB

/// Byte 0 of every log file.
struct FileHeader {
  uint64_t magic;           //  0  kFileMagic
  uint32_t version;         //  8  kFormatVersion
  uint32_t header_size;     // 12  sizeof(FileHeader)
  uint64_t file_seq;        // 16  0, 1, 2, ... one more than the previous file's
  uint64_t first_lsn;       // 24  LSN of the first record this file holds (= the name)
  uint64_t file_bytes;      // 32  size the file was preallocated to
  int64_t created_unix_ms;  // 40  informational
  uint32_t flags;           // 48  kFileRecycled; other bits zero
  uint32_t reserved[2];     // 52  zero
  uint32_t header_crc;      // 60  crc32c of bytes [0, 60)
};
static_assert(sizeof(FileHeader) == 64);
static_assert(offsetof(FileHeader, magic) == 0);
static_assert(offsetof(FileHeader, version) == 8);
static_assert(offsetof(FileHeader, header_size) == 12);
static_assert(offsetof(FileHeader, file_seq) == 16);
static_assert(offsetof(FileHeader, first_lsn) == 24);
static_assert(offsetof(FileHeader, file_bytes) == 32);
static_assert(offsetof(FileHeader, created_unix_ms) == 40);
static_assert(offsetof(FileHeader, flags) == 48);
static_assert(offsetof(FileHeader, reserved) == 52);
static_assert(offsetof(FileHeader, header_crc) == 60);

/// Starts every record; the payload follows, then zero padding to a multiple of 8.
struct RecordHeader {
  uint32_t crc;          //  0  crc32c of header bytes [4, 32) and the payload
  uint32_t length;       //  4  payload bytes, <= kMaxPayload
  uint64_t lsn;          //  8  >= 1, consecutive across records and files
  uint16_t type;         // 16  the caller's record type
  uint16_t flags;        // 18  bit 0 kFlagWriteEnd; other bits zero
  uint32_t batch_index;  // 20  records before this one in the same write (0 = first)
  uint32_t reserved;     // 24  zero
  uint32_t header_crc;   // 28  crc32c of header bytes [4, 28): rejects a garbage header
                         //     without reading a payload (resynchronising scans)
};
static_assert(sizeof(RecordHeader) == 32);
static_assert(offsetof(RecordHeader, crc) == 0);
static_assert(offsetof(RecordHeader, length) == 4);
static_assert(offsetof(RecordHeader, lsn) == 8);
static_assert(offsetof(RecordHeader, type) == 16);
static_assert(offsetof(RecordHeader, flags) == 18);
static_assert(offsetof(RecordHeader, batch_index) == 20);
static_assert(offsetof(RecordHeader, reserved) == 24);
static_assert(offsetof(RecordHeader, header_crc) == 28);
static_assert(sizeof(RecordHeader) % kRecordAlign == 0);
static_assert(kFirstRecordOffset % kRecordAlign == 0);
static_assert(std::endian::native == std::endian::little, "the WAL format is little-endian");

/// RecordHeader::flags bit 0: the last record of its write (one write_sync of one commit).
/// A write whose last record is missing was never acknowledged: recovery drops all of it.
inline constexpr uint16_t kFlagWriteEnd = 1;
/// FileHeader::flags bit 0 (version 2): the file is a released log file reused, not zero-filled.
/// After its end of data come stale bytes of earlier files, whose records all have LSNs below
/// the file's first LSN; a reader stops at the zero RecordHeader that ends every write.
inline constexpr uint32_t kFileRecycled = 1;
/// Larger files are refused as corrupt (bounds the work a scan of a damaged directory does).
inline constexpr uint64_t kMaxFileBytes = 4ull << 30;

/// Bytes a record with `payload` bytes takes in the file.
constexpr uint64_t record_bytes(uint64_t payload) {
  return (sizeof(RecordHeader) + payload + kRecordAlign - 1) & ~(kRecordAlign - 1);
}
static_assert(record_bytes(0) == 32 && record_bytes(1) == 40 && record_bytes(64) == 96);

}  // namespace lqs::durability::format

#endif  // LQS_DURABILITY_WAL_FORMAT_HPP_
