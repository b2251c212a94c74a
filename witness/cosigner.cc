#include "witness/cosigner.h"

#include <condition_variable>
#include <thread>

#include "witness/client.h"

namespace witness {

using verifier::Result;
using verifier::Status;

// State shared with the request threads, which may outlive a Cosign call
// (and the Cosigner) when a witness does not answer in time.
struct Cosigner::Shared {
  std::mutex mu;
  std::condition_variable cv;
  // Per witness: the size it last cosigned (or told us it holds). GUARDED_BY(mu)
  std::vector<uint64_t> known_size;
  std::vector<bool> busy;  // a request still running. GUARDED_BY(mu)
  // Set by ~Cosigner: no request calls `consistency` (which reads the
  // ledger) from then on. GUARDED_BY(mu)
  bool stopping = false;
  int proving = 0;  // requests inside `consistency` now. GUARDED_BY(mu)
};

Cosigner::Cosigner(std::vector<verifier::PolicyWitness> witnesses, ConsistencyFn consistency,
                   std::chrono::milliseconds timeout)
    : consistency_(std::move(consistency)), timeout_(timeout), shared_(std::make_shared<Shared>()) {
  for (auto& w : witnesses) {
    if (!w.url.empty()) witnesses_.push_back(std::move(w));
  }
  shared_->known_size.assign(witnesses_.size(), 0);
  shared_->busy.assign(witnesses_.size(), false);
}

Cosigner::~Cosigner() {
  // Requests still waiting on a witness outlive us, but none may read the
  // ledger after this returns.
  std::unique_lock lock(shared_->mu);
  shared_->stopping = true;
  shared_->cv.wait(lock, [&] { return shared_->proving == 0; });
}

std::string Cosigner::Cosign(const std::string& note, uint64_t size,
                             std::vector<Outcome>* outcomes) {
  const auto start = std::chrono::steady_clock::now();
  const auto deadline = start + timeout_;
  struct Reply {
    bool done = false;
    Status status;
    std::vector<std::string> lines;
    std::chrono::milliseconds took{0};
  };
  auto replies = std::make_shared<std::vector<Reply>>(witnesses_.size());
  for (size_t i = 0; i < witnesses_.size(); ++i) {
    uint64_t old_size;
    {
      std::lock_guard lock(shared_->mu);
      // Still busy with an earlier checkpoint: this one goes without it.
      if (shared_->busy[i]) {
        (*replies)[i] = {true, verifier::Status(verifier::Code::kUnavailable, "WITNESS_BUSY",
                                                "still answering an earlier checkpoint"),
                         {}, {}};
        continue;
      }
      old_size = shared_->known_size[i];
      if (old_size > size) old_size = 0;  // it holds a bigger tree than this one
      shared_->busy[i] = true;
    }
    std::thread([shared = shared_, replies, i, old_size, size, note, w = witnesses_[i],
                 consistency = consistency_, timeout = timeout_, start] {
      AddCheckpointOptions o;
      o.timeout = timeout;
      o.expect = w.key;
      uint64_t witness_size = 0;
      o.witness_size = &witness_size;
      auto send = [&](uint64_t from) -> Result<std::vector<std::string>> {
        std::vector<verifier::Hash> proof;
        if (from > 0 && from < size) {
          {
            std::lock_guard lock(shared->mu);
            if (shared->stopping) {
              return verifier::Status(verifier::Code::kUnavailable, "SHUTTING_DOWN",
                                      "provd is stopping");
            }
            ++shared->proving;
          }
          auto proven = consistency(from, size);
          {
            std::lock_guard lock(shared->mu);
            --shared->proving;
          }
          shared->cv.notify_all();
          PROV_ASSIGN_OR_RETURN(proof, std::move(proven));
        }
        return AddCheckpoint(w.url, from, proof, note, o);
      };
      auto r = send(old_size);
      if (!r.ok() && r.status().reason() == "WITNESS_OLD_SIZE_MISMATCH" && witness_size <= size &&
          std::chrono::steady_clock::now() - start < timeout) {
        r = send(witness_size);  // it told us what it holds: once more from there
      }
      std::lock_guard lock(shared->mu);
      Reply& reply = (*replies)[i];
      reply.done = true;
      reply.took = std::chrono::duration_cast<std::chrono::milliseconds>(
          std::chrono::steady_clock::now() - start);
      if (r.ok()) {
        reply.lines = std::move(r).value();
        shared->known_size[i] = size;
      } else {
        reply.status = r.status();
        if (r.status().reason() == "WITNESS_OLD_SIZE_MISMATCH") shared->known_size[i] = witness_size;
      }
      shared->busy[i] = false;
      shared->cv.notify_all();
    }).detach();
  }

  std::string cosigned = note;
  std::unique_lock lock(shared_->mu);
  shared_->cv.wait_until(lock, deadline, [&] {
    for (const Reply& r : *replies) {
      if (!r.done) return false;
    }
    return true;
  });
  for (size_t i = 0; i < witnesses_.size(); ++i) {
    const Reply& r = (*replies)[i];
    Outcome out{witnesses_[i].name, r.status, r.took};
    if (!r.done) {
      out.status = verifier::Status(verifier::Code::kDeadlineExceeded, "WITNESS_TIMEOUT",
                                    "no answer within " + std::to_string(timeout_.count()) + " ms");
      out.took = timeout_;
    } else if (r.status.ok()) {
      std::string lines;
      for (const auto& l : r.lines) lines += l;
      auto added = verifier::AddSignatureLines(cosigned, lines);
      if (added.ok()) {
        cosigned = std::move(added).value();
      } else {
        out.status = added.status();
      }
    }
    if (outcomes) outcomes->push_back(std::move(out));
  }
  return cosigned;
}

}  // namespace witness
