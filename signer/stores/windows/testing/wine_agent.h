// WineAgent: runs the Windows store agent (sigil_winstore.exe, cross-compiled with mingw-w64) under Wine in
// a WINEPREFIX of its own, for the Linux-side tests of the Windows store (testonly).
//
// Each WineAgent gets a fresh prefix: a hard-linked copy of one prefix booted (wineboot -i) once per test
// process under $TEST_TMPDIR, with its own copies of the registry files (the only files Wine rewrites), so
// an agent starts with empty MY / CA stores in 20 ms instead of a 10 s boot. Wine runs headless
// (DISPLAY empty, WINEDEBUG=-all); a persistent wineserver per prefix is stopped in the destructor.
//
// Thread-safety: Call may be used from several threads (each call is its own wine process).
#ifndef SIGIL_SIGNER_STORES_WINDOWS_TESTING_WINE_AGENT_H_
#define SIGIL_SIGNER_STORES_WINDOWS_TESTING_WINE_AGENT_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace sigil::signer::testing {

class WineAgent {
 public:
  // A fresh prefix and the agent from the test's runfiles (signer/stores/windows/sigil_winstore.exe, or
  // $SIGIL_WINSTORE_AGENT). FAILED_PRECONDITION when wine or the agent is missing or the boot fails.
  static absl::StatusOr<std::shared_ptr<WineAgent>> Create();

  WineAgent(const WineAgent&) = delete;
  WineAgent& operator=(const WineAgent&) = delete;
  ~WineAgent();

  // Sends one request line (see sigil_winstore.cc) and returns its data lines. The agent's
  // "error CODE message" becomes a Status with that code and message; INTERNAL when wine fails.
  absl::StatusOr<std::vector<std::string>> Call(const std::string& request) const;

  // The words after `tag` in each data line that starts with "tag " (e.g. "cert").
  static std::vector<std::string> Values(const std::vector<std::string>& lines, absl::string_view tag);

  const std::string& prefix() const { return prefix_; }

 private:
  WineAgent(std::string prefix, std::string agent) : prefix_(std::move(prefix)), agent_(std::move(agent)) {}

  const std::string prefix_;
  const std::string agent_;
};

}  // namespace sigil::signer::testing

#endif  // SIGIL_SIGNER_STORES_WINDOWS_TESTING_WINE_AGENT_H_
