#include "common/logging.h"

#include <unistd.h>

#include <atomic>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace sigil {
namespace {

std::atomic<int> min_level{static_cast<int>(LogLevel::kInfo)};

absl::string_view LevelTag(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug:
      return "DBG";
    case LogLevel::kInfo:
      return "INF";
    case LogLevel::kWarning:
      return "WRN";
    case LogLevel::kError:
      return "ERR";
    case LogLevel::kFatal:
      return "FTL";
  }
  return "INF";
}

}  // namespace

void SetMinLogLevel(LogLevel level) { min_level.store(static_cast<int>(level)); }

void Log(LogLevel level, absl::string_view message) {
  if (static_cast<int>(level) < min_level.load(std::memory_order_relaxed)) return;
  std::string line = absl::StrCat(
      "[", getpid(), "] ",
      absl::FormatTime("%Y/%m/%d %H:%M:%E6S", absl::Now(), absl::LocalTimeZone()), " [",
      LevelTag(level), "] ", message, "\n");
  // One write(2) per line keeps concurrent lines whole.
  ssize_t unused = write(STDERR_FILENO, line.data(), line.size());
  (void)unused;
}

}  // namespace sigil
