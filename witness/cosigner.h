// The log's side of witnessing: provd hands each checkpoint it is about to
// publish to a Cosigner, which sends it to every witness of its policy that
// has a URL — in parallel, each with the consistency proof from the size that
// witness last cosigned — and returns the note with the cosignatures that
// came back verified before the deadline. A slow or dead witness costs at
// most `timeout` per checkpoint and never blocks appends (provd publishes
// behind the sequencer). docs/witness.md, "provd and its witnesses".
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "verifier/crypto.h"
#include "verifier/status.h"
#include "verifier/tlog_policy.h"

namespace witness {

class Cosigner {
 public:
  // RFC 9162 consistency proof between two sizes of the log being witnessed.
  using ConsistencyFn = std::function<verifier::Result<std::vector<verifier::Hash>>(
      uint64_t old_size, uint64_t new_size)>;

  // `witnesses` without a URL are skipped.
  Cosigner(std::vector<verifier::PolicyWitness> witnesses, ConsistencyFn consistency,
           std::chrono::milliseconds timeout);
  ~Cosigner();
  Cosigner(const Cosigner&) = delete;
  Cosigner& operator=(const Cosigner&) = delete;

  // What one witness answered for one checkpoint.
  struct Outcome {
    std::string witness;  // policy name
    verifier::Status status;
    std::chrono::milliseconds took{0};
  };

  // Returns `note` (a log-signed checkpoint of `size` leaves) with every
  // cosignature gathered within the timeout; `outcomes` (optional) gets one
  // entry per witness, DEADLINE_EXCEEDED for those that did not answer in
  // time. Not reentrant: one caller at a time.
  std::string Cosign(const std::string& note, uint64_t size,
                     std::vector<Outcome>* outcomes = nullptr);

  size_t witnesses() const { return witnesses_.size(); }

 private:
  struct Shared;
  std::vector<verifier::PolicyWitness> witnesses_;
  ConsistencyFn consistency_;
  std::chrono::milliseconds timeout_;
  std::shared_ptr<Shared> shared_;  // outlives abandoned requests
};

}  // namespace witness
