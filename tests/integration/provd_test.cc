// Integration: the real `provd` binary on a loopback port with a fresh
// RocksDB directory, driven over gRPC. Everything the server says is checked
// with the verifier library (checkpoint signatures, inclusion and
// consistency proofs); every refusal is checked for its gRPC code, its reason
// and for leaving the log exactly as it was.
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <stdlib.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "client/ledger_client.h"
#include "records/records.h"
#include "tests/client/index_layout.h"
#include "tools/provd_process.h"
#include "verifier/merkle.h"
#include "verifier/note.h"

namespace {

namespace pb = provenance::v1;
using verifier::SigningKey;

constexpr int64_t kT = 1'700'000'000;
constexpr char kOrigin[] = "integration.example/log";
constexpr char kAcme[] = "acme-cam";
constexpr char kDist[] = "dist-co";
constexpr char kBuyer[] = "buyer-gov";

SigningKey KeyFromByte(uint8_t b) {
  std::array<uint8_t, 32> seed;
  seed.fill(b);
  return *SigningKey::FromSeed(seed);
}

SigningKey DeviceKey(uint64_t i) {
  return *SigningKey::FromSeed(verifier::Sha256("integration-device-" + std::to_string(i)));
}

std::string Serial(uint64_t i) { return "SN-" + std::to_string(i); }

class ProvdTest : public ::testing::Test {
 protected:
  void SetUp() override {
    verifier::InitCrypto();
    char tmpl[] = "/tmp/provd-it-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    auto vkey = tools::InitLedger(PROVD_PATH, dir_, kOrigin,
                                  {{"auth-0", auth0_.public_key()}, {"auth-1", auth1_.public_key()}},
                                  2);
    ASSERT_TRUE(vkey.ok()) << vkey.status().ToString();
    vkey_ = *vkey;
    ASSERT_NO_FATAL_FAILURE(StartServer());
  }

  void TearDown() override {
    client_.reset();
    if (provd_) {
      EXPECT_EQ(provd_->Stop(SIGTERM), 0) << "provd did not exit cleanly";
    }
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  void StartServer() {
    auto p = tools::ProvdProcess::Start(PROVD_PATH, dir_);
    ASSERT_TRUE(p.ok()) << p.status().ToString();
    provd_ = std::move(p).value();
    Connect();
  }
  void Connect() {
    auto c = client::LedgerClient::Connect(provd_->target(), vkey_);
    ASSERT_TRUE(c.ok()) << c.status().ToString();
    client_ = std::move(c).value();
  }
  // Stops the server with `sig` and starts it again on the same directory.
  // The new client keeps the old one's newest verified head, so its first
  // checkpoint must be proven consistent with what was seen before.
  void Restart(int sig) {
    auto seen = client_->latest();
    client_.reset();
    int rc = provd_->Stop(sig);
    if (sig == SIGTERM) {
      EXPECT_EQ(rc, 0);
    }
    provd_.reset();
    ASSERT_NO_FATAL_FAILURE(StartServer());
    if (seen) client_->SetLatest(*seen);
  }

  pb::SignedRecord Sign(const pb::Record& r, std::vector<const SigningKey*> keys) {
    return records::SignRecord(r, keys);
  }
  pb::SignedRecord Auth(const pb::Record& r) { return Sign(r, {&auth0_, &auth1_}); }

  // Submits through the verifying client (inclusion proven); returns the index.
  uint64_t Append(const pb::SignedRecord& r) {
    auto res = client_->Submit(r);
    EXPECT_TRUE(res.ok()) << res.status().ToString();
    EXPECT_FALSE(res.ok() && res->already_logged);
    return res.ok() ? res->index : UINT64_MAX;
  }

  uint64_t Size() {
    auto head = client_->GetCheckpoint();
    EXPECT_TRUE(head.ok()) << head.status().ToString();
    return head.ok() ? head->checkpoint.size : 0;
  }

  // Raw unary Submit: the gRPC status exactly as provd sent it.
  grpc::Status RawSubmit(const pb::SignedRecord& r, pb::SubmitResponse* resp = nullptr) {
    pb::SubmitRequest req;
    *req.mutable_record() = r;
    pb::SubmitResponse ignored;
    grpc::ClientContext ctx;
    return client_->stub().Submit(&ctx, req, resp ? resp : &ignored);
  }

  // The record is refused with `code` and `reason`, and the log is unchanged.
  void ExpectRefused(const pb::SignedRecord& r, grpc::StatusCode code, const std::string& reason) {
    const uint64_t before = Size();
    grpc::Status s = RawSubmit(r);
    EXPECT_EQ(s.error_code(), code) << s.error_message();
    EXPECT_EQ(s.error_message().rfind(reason + ": ", 0), 0u) << s.error_message();
    EXPECT_GT(s.error_message().size(), reason.size() + 2) << "no explanation";
    EXPECT_EQ(Size(), before) << reason << " appended something";
  }

  // Calls `method` with raw request bytes (for malformed protobuf).
  grpc::Status RawCall(const std::string& method, const std::string& bytes) {
    auto channel = grpc::CreateChannel(provd_->target(), grpc::InsecureChannelCredentials());
    grpc::GenericStub stub(channel);
    grpc::Slice slice(bytes);
    grpc::ByteBuffer request(&slice, 1), response;
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    grpc::CompletionQueue cq;
    auto call = stub.PrepareUnaryCall(&ctx, method, request, &cq);
    call->StartCall();
    grpc::Status status;
    call->Finish(&response, &status, reinterpret_cast<void*>(1));
    void* tag;
    bool ok;
    EXPECT_TRUE(cq.Next(&tag, &ok));
    last_raw_response_.clear();
    std::vector<grpc::Slice> slices;
    if (status.ok() && response.Dump(&slices).ok()) {
      for (auto& s : slices) last_raw_response_.append(reinterpret_cast<const char*>(s.begin()), s.size());
    }
    return status;
  }

  // Organisations, keys, a component and a model: the world devices live in.
  void BuildWorld() {
    Append(Auth(records::OrganizationRecord(kT, kAcme, "Acme Camera Co.", "GB")));
    Append(Auth(records::OrganizationRecord(kT, kDist, "Dist Co Ltd", "GB")));
    Append(Auth(records::OrganizationRecord(kT, kBuyer, "Buyer Government Dept", "GB")));
    Append(Auth(records::OwnershipRecord(kT, kDist, kAcme, 3000, false, kT - 86400)));
    Append(Auth(records::KeyEnrollmentRecord(kT, acme_mfr_.public_key(), kAcme,
                                            {pb::ROLE_MANUFACTURER})));
    Append(Auth(records::KeyEnrollmentRecord(kT, acme_cust_.public_key(), kAcme,
                                            {pb::ROLE_CUSTODIAN})));
    Append(Auth(records::KeyEnrollmentRecord(kT, dist_cust_.public_key(), kDist,
                                            {pb::ROLE_CUSTODIAN})));
    Append(Auth(records::KeyEnrollmentRecord(kT, buyer_cust_.public_key(), kBuyer,
                                            {pb::ROLE_CUSTODIAN})));
    Append(Sign(records::ComponentRecord(kT, kAcme, "SOC-1", pb::COMPONENT_KIND_SOC, "GB"),
                {&acme_mfr_}));
    Append(Sign(records::DeviceModelRecord(kT, kAcme, "CAM-1", kAcme, {records::Ref(kAcme, "SOC-1")}),
                {&acme_mfr_}));
    Append(Sign(records::FirmwareReleaseRecord(kT, kAcme, "CAM-1", "1.0.0",
                                              verifier::Sha256("firmware 1.0.0")),
                {&acme_mfr_}));
  }
  pb::SignedRecord Device(uint64_t i, const SigningKey* by = nullptr) {
    return Sign(records::DeviceRecord(kT, kAcme, Serial(i), "CAM-1", DeviceKey(i).public_key(),
                                     kT - 3600, "GB"),
                {by ? by : &acme_mfr_});
  }

  std::string dir_, vkey_, last_raw_response_;
  std::unique_ptr<tools::ProvdProcess> provd_;
  std::unique_ptr<client::LedgerClient> client_;
  SigningKey auth0_ = KeyFromByte(1), auth1_ = KeyFromByte(2);
  SigningKey acme_mfr_ = KeyFromByte(10), acme_cust_ = KeyFromByte(11);
  SigningKey dist_cust_ = KeyFromByte(12), buyer_cust_ = KeyFromByte(13);
  SigningKey stranger_ = KeyFromByte(99);
};

TEST_F(ProvdTest, SubmitsAWorkflowAndProvesEveryEntry) {
  ASSERT_NO_FATAL_FAILURE(BuildWorld());
  const uint64_t d1 = Append(Device(1));
  Append(Device(2));
  const uint64_t t = Append(Sign(
      records::TransferRecord(kT + 10, kAcme, {Serial(1), Serial(2)}, kAcme, kDist, "PO-1"),
      {&acme_cust_}));
  // One record per commit: each lands where the head ends, then its index root.
  EXPECT_EQ(t, testlog::SizeAfterSingleCommits(2, d1));
  EXPECT_EQ(Size(), testlog::SizeAfterCommit(t));

  // Every entry, each proven included in the verified head, equals what was sent.
  auto entries = client_->GetEntries(0, t + 1);
  ASSERT_TRUE(entries.ok()) << entries.status().ToString();
  ASSERT_EQ(entries->size(), t + 1);
  EXPECT_EQ((*entries)[d1], Device(1).SerializeAsString());

  // Identical bytes again: acknowledged at the original index, nothing appended.
  pb::SubmitResponse resp;
  ASSERT_TRUE(RawSubmit(Device(1), &resp).ok());
  EXPECT_TRUE(resp.already_logged());
  EXPECT_EQ(resp.index(), d1);
  EXPECT_EQ(Size(), testlog::SizeAfterCommit(t));

  // Inclusion proof by leaf hash at an older tree size.
  pb::GetInclusionProofRequest req;
  const verifier::Hash leaf_hash = verifier::LeafHash(verifier::AsBytes((*entries)[d1]));
  req.set_leaf_hash(std::string(leaf_hash.begin(), leaf_hash.end()));
  req.set_tree_size(d1 + 1);
  pb::GetInclusionProofResponse proof;
  grpc::ClientContext ctx;
  ASSERT_TRUE(client_->stub().GetInclusionProof(&ctx, req, &proof).ok());
  EXPECT_EQ(proof.proof().index(), d1);
  auto hashes = client::ParseHashes(proof.proof().hashes());
  ASSERT_TRUE(hashes.ok());
  std::vector<verifier::Hash> leaves;
  for (const auto& e : *entries) leaves.push_back(verifier::LeafHash(verifier::AsBytes(e)));
  const verifier::Hash old_root = verifier::RootOf(std::span(leaves).first(d1 + 1));
  EXPECT_TRUE(verifier::VerifyInclusion(d1, d1 + 1, leaf_hash, *hashes, old_root).ok());
}

TEST_F(ProvdTest, StreamsTenThousandRecordsInOrderWithVerifiableAcks) {
  ASSERT_NO_FATAL_FAILURE(BuildWorld());
  const uint64_t base = Size();
  constexpr uint64_t kN = 10000;
  constexpr uint64_t kBad = 4321;  // a record from an unknown signer, mid-stream
  std::vector<pb::SignedRecord> records;
  for (uint64_t i = 0; i < kN; ++i) records.push_back(Device(i, i == kBad ? &stranger_ : nullptr));

  grpc::ClientContext ctx;
  auto stream = client_->stub().SubmitStream(&ctx);
  std::thread writer([&] {
    pb::SubmitRequest req;
    for (uint64_t i = 0; i < kN; ++i) {
      *req.mutable_record() = records[i];
      req.set_sequence(1000 + i);
      if (!stream->Write(req)) break;
    }
    stream->WritesDone();
  });
  std::vector<pb::StreamAck> acks;
  pb::StreamAck ack;
  while (stream->Read(&ack)) acks.push_back(ack);
  writer.join();
  ASSERT_TRUE(stream->Finish().ok());
  ASSERT_EQ(acks.size(), kN);

  uint64_t next = base;  // the records keep their order; index roots end the commits
  auto vkey = verifier::ParseVerifierKey(vkey_);
  ASSERT_TRUE(vkey.ok());
  for (uint64_t i = 0; i < kN; ++i) {
    ASSERT_EQ(acks[i].sequence(), 1000 + i) << "acks out of order";
    if (i == kBad) {
      EXPECT_EQ(acks[i].code(), grpc::StatusCode::PERMISSION_DENIED);
      EXPECT_EQ(acks[i].message().rfind("UNKNOWN_SIGNER: ", 0), 0u) << acks[i].message();
      continue;
    }
    ASSERT_EQ(acks[i].code(), 0) << acks[i].message();
    ASSERT_GE(acks[i].index(), next) << "indices must ascend";
    next = acks[i].index() + 1;
    ASSERT_GT(acks[i].checkpoint().size(), acks[i].index());
  }
  const uint64_t size = Size();
  auto leaves = testlog::CountLeaves(*client_, base, size);
  ASSERT_TRUE(leaves.ok()) << leaves.status().ToString();
  EXPECT_EQ(leaves->records, kN - 1);
  EXPECT_EQ(leaves->records + leaves->index_roots, size - base);
  EXPECT_TRUE(leaves->ends_with_index_root);

  // A sample of acks: the checkpoint verifies and proves the record in it.
  for (uint64_t i : {uint64_t{0}, uint64_t{1}, kBad - 1, kBad + 1, uint64_t{7777}, kN - 1}) {
    auto head = client_->VerifyNote(acks[i].checkpoint().note());
    ASSERT_TRUE(head.ok()) << head.status().ToString();
    EXPECT_TRUE(
        client_->ProveInclusion(acks[i].index(), records[i].SerializeAsString(), *head).ok());
  }
  // Every entry comes back with identical bytes where its ack said, proven
  // against the head; the rest are the log's index roots.
  auto entries = client_->GetEntries(base, size);
  ASSERT_TRUE(entries.ok()) << entries.status().ToString();
  for (uint64_t i = 0; i < kN; ++i) {
    if (i == kBad) continue;
    ASSERT_EQ((*entries)[acks[i].index() - base], records[i].SerializeAsString()) << "record " << i;
  }
}

TEST_F(ProvdTest, RestartContinuesWithTheSameRootAndAConsistentTree) {
  ASSERT_NO_FATAL_FAILURE(BuildWorld());
  for (uint64_t i = 0; i < 50; ++i) Append(Device(i));
  auto before = client_->GetCheckpoint();
  ASSERT_TRUE(before.ok());

  ASSERT_NO_FATAL_FAILURE(Restart(SIGTERM));
  auto after = client_->GetCheckpoint();
  ASSERT_TRUE(after.ok()) << after.status().ToString();
  EXPECT_EQ(after->checkpoint.size, before->checkpoint.size);
  EXPECT_EQ(after->checkpoint.root, before->checkpoint.root);

  // The rulebook state survived: the same serial is still taken.
  ExpectRefused(Sign(records::DeviceRecord(kT, kAcme, Serial(3), "CAM-1",
                                          DeviceKey(1000).public_key(), kT - 3600),
                     {&acme_mfr_}),
                grpc::StatusCode::ALREADY_EXISTS, "DUPLICATE_SERIAL");

  for (uint64_t i = 50; i < 80; ++i) Append(Device(i));
  // Acknowledged records survive a SIGKILL too.
  ASSERT_NO_FATAL_FAILURE(Restart(SIGKILL));
  auto grown = client_->GetCheckpoint();  // proven consistent with the pre-kill head
  ASSERT_TRUE(grown.ok()) << grown.status().ToString();
  EXPECT_EQ(grown->checkpoint.size, testlog::SizeAfterSingleCommits(30, before->checkpoint.size));
  // And explicitly: the head from before the first restart is consistent with it.
  EXPECT_TRUE(client_->ProveConsistency(before->checkpoint, grown->checkpoint).ok());

  // offline check of the stopped database
  client_.reset();
  ASSERT_EQ(provd_->Stop(SIGTERM), 0);
  provd_.reset();
  EXPECT_EQ(tools::RunCommand({PROVD_PATH, "verify", "--data-dir", dir_}, dir_ + "/verify.log"), 0);
}

TEST_F(ProvdTest, EveryBadRecordIsRefusedPreciselyAndAppendsNothing) {
  ASSERT_NO_FATAL_FAILURE(BuildWorld());
  Append(Device(1));
  Append(Device(2));
  using C = grpc::StatusCode;

  // Signatures and signers.
  pb::SignedRecord bad_sig = Device(3);
  (*bad_sig.mutable_signatures(0)->mutable_signature())[5] ^= 1;
  ExpectRefused(bad_sig, C::INVALID_ARGUMENT, "BAD_SIGNATURE");
  ExpectRefused(Device(3, &stranger_), C::PERMISSION_DENIED, "UNKNOWN_SIGNER");
  ExpectRefused(Device(3, &acme_cust_), C::PERMISSION_DENIED, "WRONG_ROLE");
  ExpectRefused(Sign(records::OrganizationRecord(kT, "evil", "Evil", "GB"), {&auth0_}),
                C::PERMISSION_DENIED, "INSUFFICIENT_SIGNATURES");
  pb::SignedRecord unsigned_rec = Device(3);
  unsigned_rec.clear_signatures();
  ExpectRefused(unsigned_rec, C::PERMISSION_DENIED, "UNSIGNED");

  // Malformed and oversized.
  pb::SignedRecord garbage;
  garbage.set_record("\xff\xff\xff not a protobuf");
  pb::Record no_kind;
  no_kind.set_issued_at(kT);
  ExpectRefused(records::SignRecord(no_kind, {&acme_mfr_}), C::INVALID_ARGUMENT,
                "UNKNOWN_RECORD_KIND");
  *garbage.add_signatures() = Device(3).signatures(0);
  ExpectRefused(garbage, C::INVALID_ARGUMENT, "MALFORMED_RECORD");
  ExpectRefused(Sign(records::OrganizationRecord(kT, "big", std::string(70000, 'x'), "GB"),
                     {&auth0_, &auth1_}),
                C::INVALID_ARGUMENT, "RECORD_TOO_LARGE");
  {
    // Over the server's 256 KiB message limit: refused by gRPC itself.
    const uint64_t before = Size();
    grpc::Status s = RawSubmit(Sign(
        records::OrganizationRecord(kT, "huge", std::string(300000, 'x'), "GB"), {&auth0_}));
    EXPECT_EQ(s.error_code(), C::RESOURCE_EXHAUSTED) << s.error_message();
    EXPECT_EQ(Size(), before);
  }
  {
    // Bytes that are no SubmitRequest at all.
    grpc::Status s = RawCall("/provenance.v1.Ledger/Submit", "\x0a\xff\xff\xff\xff\x0f");
    EXPECT_NE(s.error_code(), C::OK);
    s = RawCall("/provenance.v1.Ledger/Submit", "");
    EXPECT_EQ(s.error_code(), C::INVALID_ARGUMENT) << s.error_message();
  }

  // Uniqueness and references.
  ExpectRefused(Sign(records::DeviceRecord(kT, kAcme, Serial(1), "CAM-1",
                                          DeviceKey(77).public_key(), kT - 3600),
                     {&acme_mfr_}),
                C::ALREADY_EXISTS, "DUPLICATE_SERIAL");
  ExpectRefused(Sign(records::DeviceRecord(kT, kAcme, Serial(78), "CAM-1",
                                          DeviceKey(1).public_key(), kT - 3600),
                     {&acme_mfr_}),
                C::ALREADY_EXISTS, "DUPLICATE_DEVICE_KEY");
  ExpectRefused(Sign(records::DeviceRecord(kT, kAcme, Serial(79), "NO-SUCH-MODEL",
                                          DeviceKey(79).public_key(), kT - 3600),
                     {&acme_mfr_}),
                C::FAILED_PRECONDITION, "DANGLING_REFERENCE");
  ExpectRefused(Sign(records::DeviceModelRecord(kT, kAcme, "CAM-2", kAcme,
                                               {records::Ref(kAcme, "NO-SUCH-PART")}),
                     {&acme_mfr_}),
                C::FAILED_PRECONDITION, "DANGLING_REFERENCE");

  // Custody: only the current custodian transfers.
  ExpectRefused(Sign(records::TransferRecord(kT + 10, kAcme, {Serial(1)}, kDist, kBuyer),
                     {&dist_cust_}),
                C::PERMISSION_DENIED, "NOT_CUSTODIAN");
  ExpectRefused(Sign(records::TransferRecord(kT + 10, kAcme, {Serial(404)}, kAcme, kDist),
                     {&acme_cust_}),
                C::FAILED_PRECONDITION, "UNKNOWN_DEVICE");

  // A revoked key signs nothing after its revocation.
  Append(Auth(records::KeyRevocationRecord(kT + 100, acme_mfr_.public_key(), kT + 100, "leaked")));
  ExpectRefused(Sign(records::DeviceRecord(kT + 200, kAcme, Serial(5), "CAM-1",
                                          DeviceKey(5).public_key(), kT),
                     {&acme_mfr_}),
                C::PERMISSION_DENIED, "REVOKED_KEY");

  // Reads out of range.
  const uint64_t size = Size();
  {
    pb::GetEntriesRequest req;
    pb::GetEntriesResponse resp;
    req.set_start(size);
    req.set_end(size + 1);
    grpc::ClientContext c1;
    grpc::Status s = client_->stub().GetEntries(&c1, req, &resp);
    EXPECT_EQ(s.error_code(), C::OUT_OF_RANGE) << s.error_message();
    req.set_start(0);
    req.set_end(5000);
    grpc::ClientContext c2;
    s = client_->stub().GetEntries(&c2, req, &resp);
    EXPECT_EQ(s.error_code(), C::OUT_OF_RANGE) << s.error_message();
  }
  {
    pb::GetInclusionProofRequest req;
    pb::GetInclusionProofResponse resp;
    req.set_index(size);
    grpc::ClientContext c1;
    EXPECT_EQ(client_->stub().GetInclusionProof(&c1, req, &resp).error_code(), C::OUT_OF_RANGE);
    req.set_index(0);
    req.set_tree_size(size + 1);
    grpc::ClientContext c2;
    grpc::Status s = client_->stub().GetInclusionProof(&c2, req, &resp);
    EXPECT_EQ(s.error_code(), C::OUT_OF_RANGE);
    EXPECT_EQ(s.error_message().rfind("TREE_SIZE_TOO_LARGE: ", 0), 0u) << s.error_message();
    req.set_leaf_hash(std::string(32, '\0'));
    grpc::ClientContext c3;
    EXPECT_EQ(client_->stub().GetInclusionProof(&c3, req, &resp).error_code(), C::NOT_FOUND);
  }
  {
    pb::GetConsistencyProofRequest req;
    pb::GetConsistencyProofResponse resp;
    req.set_first(size + 1);
    req.set_second(size + 2);
    grpc::ClientContext c1;
    EXPECT_EQ(client_->stub().GetConsistencyProof(&c1, req, &resp).error_code(),
              C::OUT_OF_RANGE);
  }
  // Still serving, and still appending.
  EXPECT_EQ(Size(), size);
  EXPECT_EQ(Append(Auth(records::OrganizationRecord(kT, "late-org", "Late Org", "GB"))), size);
}

TEST_F(ProvdTest, DeviceEvidenceProvesEverythingAVerifierNeeds) {
  ASSERT_NO_FATAL_FAILURE(BuildWorld());
  const uint64_t dev = Append(Device(1));
  const uint64_t xfer = Append(Sign(
      records::TransferRecord(kT + 10, kAcme, {Serial(1)}, kAcme, kDist, "PO-7"), {&acme_cust_}));
  const uint64_t other = Append(Device(2));  // another device's record must not be in the evidence

  pb::GetDeviceEvidenceRequest req;
  req.set_manufacturer_org(kAcme);
  req.set_serial(Serial(1));
  pb::Evidence ev;
  grpc::ClientContext ctx;
  ASSERT_TRUE(client_->stub().GetDeviceEvidence(&ctx, req, &ev).ok());
  auto head = client_->VerifyNote(ev.checkpoint().note());
  ASSERT_TRUE(head.ok()) << head.status().ToString();

  std::set<std::string> kinds;
  std::set<uint64_t> indices;
  uint64_t prev = 0;
  for (int i = 0; i < ev.entries_size(); ++i) {
    const auto& e = ev.entries(i);
    if (i > 0) {
      EXPECT_GT(e.index(), prev) << "ascending, no duplicates";
    }
    prev = e.index();
    indices.insert(e.index());
    auto hashes = client::ParseHashes(e.proof());
    ASSERT_TRUE(hashes.ok());
    EXPECT_TRUE(verifier::VerifyInclusion(e.index(), head->checkpoint.size,
                                          verifier::LeafHash(verifier::AsBytes(e.signed_record())),
                                          *hashes, head->checkpoint.root)
                    .ok())
        << "entry " << e.index();
    pb::SignedRecord sr;
    pb::Record r;
    ASSERT_TRUE(sr.ParseFromString(e.signed_record()) && r.ParseFromString(sr.record()));
    kinds.insert(pb::Record::descriptor()->FindFieldByNumber(r.kind_case())->name());
  }
  EXPECT_TRUE(indices.count(0)) << "genesis";
  EXPECT_TRUE(indices.count(dev));
  EXPECT_TRUE(indices.count(xfer));
  EXPECT_FALSE(indices.count(other)) << "another device's record";
  EXPECT_TRUE(indices.count(head->checkpoint.size - 1)) << "the head's index root";
  EXPECT_GT(ev.subjects_size(), 0) << "the subjects' histories, proven complete";
  for (const char* k : {"genesis", "organization", "ownership", "key_enrollment", "component",
                        "device_model", "device", "transfer"}) {
    EXPECT_TRUE(kinds.count(k)) << "missing " << k;
  }

  pb::GetOrganizationEvidenceRequest oreq;
  oreq.set_org_id(kDist);
  pb::Evidence oev;
  grpc::ClientContext c2;
  ASSERT_TRUE(client_->stub().GetOrganizationEvidence(&c2, oreq, &oev).ok());
  EXPECT_GE(oev.entries_size(), 3);

  req.set_serial("SN-unknown");
  grpc::ClientContext c3;
  EXPECT_EQ(client_->stub().GetDeviceEvidence(&c3, req, &ev).error_code(),
            grpc::StatusCode::NOT_FOUND);
}

TEST_F(ProvdTest, WatchCheckpointsStreamsNewHeads) {
  const uint64_t size = Size();
  grpc::ClientContext ctx;
  pb::WatchCheckpointsRequest req;
  req.set_after_size(size);
  auto watch = client_->stub().WatchCheckpoints(&ctx, req);
  Append(Auth(records::OrganizationRecord(kT, kAcme, "Acme Camera Co.", "GB")));
  pb::SignedCheckpoint c;
  ASSERT_TRUE(watch->Read(&c));
  EXPECT_EQ(c.size(), testlog::SizeAfterCommit(size));
  auto head = client_->VerifyNote(c.note());
  ASSERT_TRUE(head.ok()) << head.status().ToString();
  ctx.TryCancel();
  watch->Finish();
}

TEST_F(ProvdTest, SigtermEndsWatchersAndExitsCleanly) {
  grpc::ClientContext ctx;
  pb::WatchCheckpointsRequest req;
  req.set_after_size(Size());
  auto watch = client_->stub().WatchCheckpoints(&ctx, req);
  std::this_thread::sleep_for(std::chrono::milliseconds(200));  // let the call start
  std::thread stop([&] { EXPECT_EQ(provd_->Stop(SIGTERM), 0); });
  pb::SignedCheckpoint c;
  EXPECT_FALSE(watch->Read(&c));
  grpc::Status s = watch->Finish();
  stop.join();
  provd_.reset();
  // Told by the server why, not cut off by the forced-shutdown deadline.
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAVAILABLE) << s.error_message();
  EXPECT_EQ(s.error_message().rfind("SHUTTING_DOWN: ", 0), 0u) << s.error_message();
}

TEST_F(ProvdTest, ServesTheStandardHealthService) {
  // grpc.health.v1.HealthCheckRequest{} is empty; the answer is
  // HealthCheckResponse{status: SERVING (1)}.
  grpc::Status s = RawCall("/grpc.health.v1.Health/Check", "");
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(last_raw_response_, std::string("\x08\x01", 2));
}

TEST_F(ProvdTest, RefusesToServeACorruptLedger) {
  ASSERT_NO_FATAL_FAILURE(BuildWorld());
  client_.reset();
  ASSERT_EQ(provd_->Stop(SIGTERM), 0);
  provd_.reset();
  // A different log key: the stored checkpoint no longer verifies.
  std::filesystem::remove(dir_ + "/log.key");
  ASSERT_TRUE(verifier::WriteKeyFile(dir_ + "/log.key", KeyFromByte(42)).ok());
  auto p = tools::ProvdProcess::Start(PROVD_PATH, dir_);
  ASSERT_FALSE(p.ok());
  EXPECT_NE(p.status().message().find("exited 3"), std::string::npos) << p.status().message();
}

}  // namespace

namespace {

// --- limits and abuse ---

// An unknown signer is refused before its signature is even checked: a
// stranger's record with a garbage signature is UNKNOWN_SIGNER, not
// BAD_SIGNATURE (no Ed25519 work is spent on it).
TEST_F(ProvdTest, UnknownSignersAreRefusedBeforeAnySignatureCheck) {
  ASSERT_NO_FATAL_FAILURE(BuildWorld());
  pb::SignedRecord forged = Device(5, &stranger_);
  forged.mutable_signatures(0)->set_signature(std::string(64, '\x5a'));
  ExpectRefused(forged, grpc::StatusCode::PERMISSION_DENIED, "UNKNOWN_SIGNER");
  // An enrolled key with a garbage signature is a bad signature.
  pb::SignedRecord bad = Device(5);
  bad.mutable_signatures(0)->set_signature(std::string(64, '\x5a'));
  ExpectRefused(bad, grpc::StatusCode::INVALID_ARGUMENT, "BAD_SIGNATURE");
}

// A client that opens SubmitStream, sends records and never reads its acks
// (and one that sends nothing at all) does not hold up anyone else: other
// clients' submissions are acknowledged while they stall.
TEST_F(ProvdTest, StalledStreamsDoNotBlockTheSequencer) {
  ASSERT_NO_FATAL_FAILURE(BuildWorld());
  auto channel = grpc::CreateChannel(provd_->target(), grpc::InsecureChannelCredentials());
  auto stub = pb::Ledger::NewStub(channel);
  grpc::ClientContext stalled_ctx, idle_ctx;
  auto stalled = stub->SubmitStream(&stalled_ctx);
  auto idle = stub->SubmitStream(&idle_ctx);
  // Enough records to fill the stalled stream's window and its acks' buffers.
  std::thread writer([&] {
    pb::SubmitRequest req;
    for (uint64_t i = 0; i < 3000; ++i) {
      *req.mutable_record() = Device(1000 + i);
      req.set_sequence(i);
      if (!stalled->Write(req)) break;
    }
  });
  const auto start = std::chrono::steady_clock::now();
  for (uint64_t i = 0; i < 20; ++i) Append(Device(i));
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_LT(seconds, 10.0) << "20 unary submissions took " << seconds << " s";
  stalled_ctx.TryCancel();
  idle_ctx.TryCancel();
  writer.join();
  (void)stalled->Finish();
  (void)idle->Finish();
}

// Deadlines are the client's: an expired one ends the call with
// DEADLINE_EXCEEDED, and the server goes on serving.
TEST_F(ProvdTest, DeadlinesAreRespected) {
  ASSERT_NO_FATAL_FAILURE(BuildWorld());
  for (uint64_t i = 0; i < 50; ++i) Append(Device(i));
  pb::GetEvidenceRequest req;
  for (uint64_t i = 0; i < 50; ++i) {
    auto* d = req.add_devices();
    d->set_manufacturer_org(kAcme);
    d->set_serial(Serial(i));
  }
  pb::Evidence ev;
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() - std::chrono::milliseconds(1));
  grpc::Status s = client_->stub().GetEvidence(&ctx, req, &ev);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED) << s.error_message();
  EXPECT_GT(Size(), 0u);  // still serving
}

// Each SubmitStream holds at most its window of unacknowledged requests:
// with a client that writes without ever reading its acks, the server stops
// reading once the acks cannot be delivered, the client's writes block, and
// provd's memory stays bounded.
TEST_F(ProvdTest, SubmitStreamAppliesBackPressure) {
  ASSERT_NO_FATAL_FAILURE(BuildWorld());
  // Without BDP probing the client's receive window stays at its initial
  // size, so where the writer stops does not depend on timing.
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_HTTP2_BDP_PROBE, 0);
  auto channel =
      grpc::CreateCustomChannel(provd_->target(), grpc::InsecureChannelCredentials(), args);
  auto stub = pb::Ledger::NewStub(channel);
  constexpr uint64_t kCap = 2000000;
  grpc::ClientContext ctx;
  auto stream = stub->SubmitStream(&ctx);
  std::atomic<uint64_t> written{0};
  std::thread writer([&] {
    pb::SubmitRequest req;
    for (uint64_t i = 0; i < kCap; ++i) {
      *req.mutable_record() = Device(5000 + i % 100);  // duplicates after 100: admitted, not appended
      req.set_sequence(i);
      if (!stream->Write(req)) break;
      written.fetch_add(1);
    }
  });
  // Once the window and the transport's buffers (most of them the client's
  // own: it does not read its acks) are full, the writer stops for good.
  uint64_t last = 0, now = 0;
  bool plateau = false;
  for (int k = 0; k < 20 && !plateau; ++k) {
    std::this_thread::sleep_for(std::chrono::seconds(2));
    now = written.load();
    plateau = now == last && now > 0;
    last = now;
  }
  std::printf("writer stopped after %llu requests\n", static_cast<unsigned long long>(now));
  EXPECT_TRUE(plateau) << "the server kept reading: " << now << " requests written";
  EXPECT_LT(now, kCap);
  const uint64_t rss = provd_->PeakRssBytes();
  EXPECT_LT(rss, 512ull << 20) << "provd RSS " << rss;
  ctx.TryCancel();
  writer.join();
  (void)stream->Finish();
}

}  // namespace
