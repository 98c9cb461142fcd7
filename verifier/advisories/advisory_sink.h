// AdvisorySink: where the peer verifier hands advisory events (verifier/peer_verifier.h). The one
// implementation is AdvisoryBus (advisory_bus.h); tests may record events with their own sink.
//
// Thread-safety: Emit is called concurrently from verification threads and must never block on I/O or
// on a slow consumer: a sink that cannot keep up drops events and counts them.
#ifndef SIGIL_VERIFIER_ADVISORIES_ADVISORY_SINK_H_
#define SIGIL_VERIFIER_ADVISORIES_ADVISORY_SINK_H_

#include "verifier/advisories/advisory.h"

namespace sigil::verifier::advisories {

class AdvisorySink {
 public:
  virtual ~AdvisorySink() = default;
  // Takes one event. Events emitted by one thread are delivered to every consumer in that order.
  virtual void Emit(AdvisoryEvent event) = 0;
};

}  // namespace sigil::verifier::advisories

#endif  // SIGIL_VERIFIER_ADVISORIES_ADVISORY_SINK_H_
