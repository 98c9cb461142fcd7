// The one adapter from rocksdb::Status to absl::Status. The message keeps RocksDB's own text, including
// its code name ("IO error: ...", "Corruption: ..."). It does not interpret messages beyond the code.
// Thread-safe (pure function).
#ifndef SIGIL_CACHE_ROCKSDB_STATUS_H_
#define SIGIL_CACHE_ROCKSDB_STATUS_H_

#include <rocksdb/status.h>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace sigil::cache {

// OK for an OK status; otherwise "<context>: <RocksDB ToString()>" with a code chosen by what the caller
// should do: NotFound → NOT_FOUND, InvalidArgument/NotSupported → INVALID_ARGUMENT, Corruption →
// DATA_LOSS, Busy/TryAgain/TimedOut/Incomplete → UNAVAILABLE, IOError and the rest → INTERNAL.
absl::Status FromRocksDbStatus(const rocksdb::Status& status, absl::string_view context);

}  // namespace sigil::cache

#endif  // SIGIL_CACHE_ROCKSDB_STATUS_H_
