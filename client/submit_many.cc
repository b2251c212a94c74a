#include "client/submit_many.h"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <map>
#include <mutex>
#include <thread>
#include <unordered_map>

namespace client {
namespace {

// Sends every item over one stream and records its ack; `notes[i]` gets the
// checkpoint note of an accepted item's ack.
Status Stream(LedgerClient& c, std::vector<Submission>& items, const SubmitManyOptions& options,
              std::vector<std::string>* notes) {
  std::unordered_map<uint64_t, size_t> by_sequence;
  for (size_t i = 0; i < items.size(); ++i) by_sequence[items[i].sequence] = i;
  std::mutex mu;
  std::condition_variable cv;
  int inflight = 0;   // GUARDED_BY(mu)
  bool stop = false;  // GUARDED_BY(mu)
  grpc::ClientContext ctx;
  auto stream = c.stub().SubmitStream(&ctx);
  std::thread writer([&] {
    pb::SubmitRequest req;
    for (size_t i = 0; i < items.size(); ++i) {
      {
        std::unique_lock lock(mu);
        cv.wait(lock, [&] { return inflight < options.window || stop; });
        if (stop) break;
        ++inflight;
      }
      Submission& item = items[i];
      if (options.make_leaf) item.leaf = options.make_leaf(i);
      if (!req.mutable_record()->ParseFromString(item.leaf)) req.clear_record();
      req.set_sequence(item.sequence);
      if (!stream->Write(req)) break;
    }
    stream->WritesDone();
  });
  Status fatal;
  uint64_t acked = 0;
  pb::StreamAck ack;
  while (stream->Read(&ack)) {
    auto it = by_sequence.find(ack.sequence());
    if (it == by_sequence.end() || items[it->second].acked) {
      fatal = verifier::DataLoss("BAD_ACK", "the server acknowledged sequence " +
                                                std::to_string(ack.sequence()) +
                                                ", which was not sent or was already "
                                                "acknowledged");
      ctx.TryCancel();
      break;
    }
    Submission& item = items[it->second];
    item.acked = true;
    if (ack.code() != 0) {
      item.status =
          FromGrpc(grpc::Status(static_cast<grpc::StatusCode>(ack.code()), ack.message()));
    } else {
      item.index = ack.index();
      item.already_logged = ack.already_logged();
      (*notes)[it->second] = ack.checkpoint().note();
    }
    ++acked;
    if (options.on_ack) options.on_ack(acked);
    {
      std::lock_guard lock(mu);
      --inflight;
    }
    cv.notify_one();
  }
  {
    std::lock_guard lock(mu);
    stop = true;
  }
  cv.notify_one();
  writer.join();
  grpc::Status st = stream->Finish();
  if (fatal.ok() && !st.ok()) fatal = FromGrpc(st);
  if (fatal.ok() && acked != items.size()) {
    fatal = verifier::DataLoss("UNACKNOWLEDGED", std::to_string(items.size() - acked) +
                                                     " record(s) were not acknowledged by the "
                                                     "server");
  }
  return fatal;
}

}  // namespace

SubmitManyResult SubmitMany(LedgerClient& c, std::vector<Submission>& items,
                            const SubmitManyOptions& options) {
  SubmitManyResult out;
  std::vector<std::string> notes(items.size());
  if (!items.empty()) out.fatal = Stream(c, items, options, &notes);
  if (!out.fatal.ok()) return out;

  // Sort the acks out, verifying every checkpoint they carry.
  std::vector<size_t> landed;
  std::map<std::string, verifier::Checkpoint> verified;
  std::optional<verifier::Checkpoint> newest_ack;
  for (size_t i = 0; i < items.size(); ++i) {
    const Submission& item = items[i];
    if (!item.status.ok()) {
      ++out.refused;
      continue;
    }
    auto it = verified.find(notes[i]);
    if (it == verified.end()) {
      auto v = c.VerifyNote(notes[i]);
      if (!v.ok()) {
        out.fatal = Status(v.status().code(), v.status().reason(),
                           "checkpoint in the ack of sequence " + std::to_string(item.sequence) +
                               ": " + v.status().message());
        return out;
      }
      it = verified.emplace(notes[i], v->checkpoint).first;
      if (!newest_ack || v->checkpoint.size > newest_ack->size) newest_ack = v->checkpoint;
    }
    if (item.index >= it->second.size) {
      out.fatal = verifier::DataLoss("BAD_ACK", "sequence " + std::to_string(item.sequence) +
                                                    ": index " + std::to_string(item.index) +
                                                    " is outside its checkpoint of size " +
                                                    std::to_string(it->second.size));
      return out;
    }
    (item.already_logged ? out.already_logged : out.appended)++;
    landed.push_back(i);
  }

  // Prove every landed record is in the latest checkpoint, which must extend
  // both the trust store's head and every head the acks showed.
  auto h = c.GetCheckpoint();
  if (!h.ok()) {
    out.fatal = h.status();
    return out;
  }
  out.head = *h;
  if (newest_ack) {
    if (newest_ack->size > h->checkpoint.size) {
      out.fatal = verifier::DataLoss("ROLLBACK", "an ack showed a tree of size " +
                                                     std::to_string(newest_ack->size) +
                                                     " but the latest checkpoint has size " +
                                                     std::to_string(h->checkpoint.size));
      return out;
    }
    if (Status s = c.ProveConsistency(*newest_ack, h->checkpoint); !s.ok()) {
      out.fatal =
          verifier::DataLoss("FORK", "the acks' tree of size " + std::to_string(newest_ack->size) +
                                         " is not consistent with the latest: " + s.ToString());
      return out;
    }
  }
  if (landed.empty()) return out;
  std::atomic<size_t> next{0}, done{0};
  std::mutex mu;
  Status failed;  // GUARDED_BY(mu)
  std::vector<std::thread> pool;
  const unsigned n = std::min<unsigned>(4, static_cast<unsigned>(landed.size() / 64 + 1));
  for (unsigned t = 0; t < n; ++t) {
    pool.emplace_back([&] {
      for (size_t k; (k = next.fetch_add(1)) < landed.size();) {
        const Submission& item = items[landed[k]];
        Status s = c.ProveInclusion(item.index, item.leaf, *out.head);
        std::lock_guard lock(mu);
        if (!s.ok()) {
          if (failed.ok()) {
            failed = Status(s.code(), s.reason(),
                            "inclusion of sequence " + std::to_string(item.sequence) + " (#" +
                                std::to_string(item.index) + "): " + s.message());
          }
          next = landed.size();
          return;
        }
        const size_t d = done.fetch_add(1) + 1;
        if (options.on_proof) options.on_proof(d);
      }
    });
  }
  for (auto& t : pool) t.join();
  out.fatal = failed;
  return out;
}

}  // namespace client
