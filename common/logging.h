// Process log: one line per event on stderr, in the reference server's format
// "[pid] 2006/01/02 15:04:05.000000 [INF] message" so that the seeds' log lines read the same here.
//
// Thread-safe: each line is written with a single write(2). Never pass a PIN, key or full digest.
#ifndef SIGIL_COMMON_LOGGING_H_
#define SIGIL_COMMON_LOGGING_H_

#include "absl/strings/string_view.h"

namespace sigil {

enum class LogLevel { kDebug, kInfo, kWarning, kError, kFatal };

// Writes one line at `level`. Lines below the minimum level (default kInfo) are dropped.
void Log(LogLevel level, absl::string_view message);

inline void LogInfo(absl::string_view message) { Log(LogLevel::kInfo, message); }
inline void LogWarning(absl::string_view message) { Log(LogLevel::kWarning, message); }
inline void LogError(absl::string_view message) { Log(LogLevel::kError, message); }

// Sets the minimum level written. Call before other threads start.
void SetMinLogLevel(LogLevel level);

}  // namespace sigil

#endif  // SIGIL_COMMON_LOGGING_H_
