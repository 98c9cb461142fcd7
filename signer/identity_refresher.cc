#include "signer/identity_refresher.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/logging.h"
#include "signer/signer_service.h"

namespace sigil::signer {

IdentityRefresher::IdentityRefresher(const IdentitySet& identities) : identities_(identities) {
  thread_ = std::thread([this] { Run(); });
}

IdentityRefresher::~IdentityRefresher() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  thread_.join();
}

void IdentityRefresher::RequestNow() {
  absl::MutexLock lock(&mu_);
  requested_ = true;
}

void IdentityRefresher::Run() {
  std::map<std::string, absl::Time> due;
  const absl::Time start = absl::Now();
  for (Identity* identity : identities_.All()) {
    if (identity->refresh_interval() > absl::ZeroDuration()) {
      due[identity->name()] = start + identity->refresh_interval();
    }
  }
  while (true) {
    absl::Time next = absl::InfiniteFuture();
    for (const auto& [name, when] : due) next = std::min(next, when);
    bool all = false;
    {
      absl::MutexLock lock(&mu_);
      auto wake = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return stopping_ || requested_; };
      mu_.AwaitWithDeadline(absl::Condition(&wake), next);
      if (stopping_) return;
      all = requested_;
      requested_ = false;
    }
    const absl::Time now = absl::Now();
    if (all) {
      LogInfo("Looking up every store-backed identity again (SIGHUP)");
      RefreshIdentities(identities_, now, nullptr);
      for (auto& [name, when] : due) when = now + identities_.Find(name)->refresh_interval();
      continue;
    }
    for (auto& [name, when] : due) {
      if (when > now) continue;
      Identity* identity = identities_.Find(name);
      auto changed = identity->Refresh(now);
      if (!changed.ok()) {
        LogWarning(absl::StrCat("re-lookup failed, keeping the current certificate: ", changed.status().message()));
      } else if (*changed) {
        LogInfo(absl::StrCat("rotated: ", identity->Describe()));
      }
      when = now + identity->refresh_interval();
    }
  }
}

}  // namespace sigil::signer
