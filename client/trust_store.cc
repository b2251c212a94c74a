#include "client/trust_store.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace client {

namespace {

constexpr size_t kMaxNoteBytes = 1 << 20;  // a checkpoint note is a few hundred bytes

Status CannotUse(const std::string& path, int err) {
  return verifier::FailedPrecondition(
      "TRUST_STORE", "cannot use the trust store " + path + ": " + std::strerror(err));
}

Status CannotUpdate(const std::string& path, int err) {
  return verifier::FailedPrecondition(
      "TRUST_STORE", "cannot update the trust store " + path + ": " + std::strerror(err));
}

// mkdir -p, creating missing directories with mode 0700; returns 0 or errno.
int MakeDirs(const std::string& path) {
  for (size_t end = 1; end <= path.size(); ++end) {
    if (end != path.size() && path[end] != '/') continue;
    const std::string prefix = path.substr(0, end);
    struct stat st;
    if (stat(prefix.c_str(), &st) == 0) {
      if (!S_ISDIR(st.st_mode)) return ENOTDIR;
      continue;
    }
    if (errno != ENOENT) return errno;
    if (mkdir(prefix.c_str(), 0700) != 0 && errno != EEXIST) return errno;
  }
  return 0;
}

// Closes `fd` when it goes out of scope.
struct Fd {
  int fd;
  ~Fd() {
    if (fd >= 0) close(fd);
  }
};

std::string HeadText(const verifier::Checkpoint& c) {
  return "size " + std::to_string(c.size) + " root " + verifier::HexEncode(c.root);
}

}  // namespace

Result<std::string> TrustStore::Root(const std::string& state_dir) {
  if (!state_dir.empty()) return state_dir;
  const char* xdg = std::getenv("XDG_STATE_HOME");
  if (xdg != nullptr && xdg[0] == '/') return std::string(xdg) + "/prov";
  const char* home = std::getenv("HOME");
  if (home != nullptr && home[0] != '\0') return std::string(home) + "/.local/state/prov";
  return verifier::FailedPrecondition(
      "TRUST_STORE", "no trust store: give --state-dir DIR, or set XDG_STATE_HOME or HOME");
}

std::string TrustStore::LogDirName(const verifier::NoteVerifier& v) {
  std::string name = v.name.substr(0, 200);
  for (char& ch : name) {
    const bool safe = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                      (ch >= '0' && ch <= '9') || ch == '.' || ch == '_' || ch == '-';
    if (!safe) ch = '_';
  }
  if (!name.empty() && name[0] == '.') name[0] = '_';
  char hash[9];
  std::snprintf(hash, sizeof hash, "%08x", v.key_hash);
  return name + "-" + hash;
}

Result<std::unique_ptr<TrustStore>> TrustStore::Open(const std::string& root,
                                                     const verifier::NoteVerifier& v) {
  const std::string dir = root + "/" + LogDirName(v);
  if (int err = MakeDirs(dir); err != 0) return CannotUse(dir, err);
  // Root passes any permission check; a read-only file system still shows here.
  if (access(dir.c_str(), W_OK) != 0) return CannotUse(dir, errno);
  int fd = open((dir + "/lock").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return CannotUse(dir, errno);
  return std::unique_ptr<TrustStore>(new TrustStore(dir, fd));
}

TrustStore::~TrustStore() { close(lock_fd_); }

Result<std::optional<std::string>> TrustStore::Load() const {
  const std::string path = checkpoint_file();
  Fd f{open(path.c_str(), O_RDONLY | O_CLOEXEC)};
  if (f.fd < 0) {
    if (errno == ENOENT) return std::optional<std::string>();
    return CannotUse(path, errno);
  }
  std::string note;
  char buf[4096];
  for (;;) {
    ssize_t n = read(f.fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return CannotUse(path, errno);
    if (n == 0) break;
    note.append(buf, static_cast<size_t>(n));
    if (note.size() > kMaxNoteBytes) return CannotUse(path, EFBIG);
  }
  return std::optional<std::string>(std::move(note));
}

Status TrustStore::Save(const LedgerClient& c, const std::optional<std::string>& loaded) {
  if (!c.latest()) return Status::Ok();
  const VerifiedCheckpoint& mine = *c.latest();
  while (flock(lock_fd_, LOCK_EX) != 0) {
    if (errno != EINTR) return CannotUpdate(dir_ + "/lock", errno);
  }
  struct Unlock {
    int fd;
    ~Unlock() { flock(fd, LOCK_UN); }
  } unlock{lock_fd_};

  PROV_ASSIGN_OR_RETURN(std::optional<std::string> stored, Load());
  if (stored) {
    auto theirs = c.VerifyNote(*stored);
    if (!theirs.ok()) {
      return verifier::DataLoss(
          theirs.status().reason(),
          "the trust store's checkpoint " + checkpoint_file() +
              " does not verify with the pinned log key: " + theirs.status().message());
    }
    const verifier::Checkpoint& m = mine.checkpoint;
    const verifier::Checkpoint& t = theirs->checkpoint;
    if (stored != loaded) {
      // Another process stored a head we have not checked against ours.
      const bool mine_older = m.size < t.size;
      Status s = c.ProveConsistency(mine_older ? m : t, mine_older ? t : m);
      // No answer tells nothing; any other failure (a proof that does not
      // verify, or a server that cannot prove a head its key signed) is a fork.
      if (s.code() == verifier::Code::kUnavailable ||
          s.code() == verifier::Code::kDeadlineExceeded) {
        return s;
      }
      if (!s.ok()) {
        return verifier::DataLoss("FORK", "tree head " + HeadText(m) +
                                              " seen by this run is not consistent with " +
                                              HeadText(t) + " stored in " + checkpoint_file() +
                                              " by another run: " + s.ToString());
      }
    }
    if (m.size < t.size) return Status::Ok();  // never move backwards
    if (m.size == t.size) {
      // The same tree (proven consistent above, or when `mine` was adopted
      // over `loaded`): replace the stored note only by a better-cosigned one.
      if (!verifier::ConstantTimeEqual(m.root, t.root)) {
        return verifier::DataLoss("FORK", "tree head " + HeadText(m) +
                                              " seen by this run differs from " + HeadText(t) +
                                              " stored in " + checkpoint_file());
      }
      if (c.Cosignatures(mine.note) <= c.Cosignatures(*stored)) return Status::Ok();
    }
  }
  return Write(mine.note);
}

Status TrustStore::Write(const std::string& note) {
  std::string tmp = dir_ + "/.checkpoint.XXXXXX";
  Fd f{mkostemp(tmp.data(), O_CLOEXEC)};
  if (f.fd < 0) return CannotUpdate(dir_, errno);
  auto fail = [&](int err) {
    unlink(tmp.c_str());
    return CannotUpdate(tmp, err);
  };
  for (size_t done = 0; done < note.size();) {
    ssize_t n = write(f.fd, note.data() + done, note.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return fail(errno);
    done += static_cast<size_t>(n);
  }
  if (fsync(f.fd) != 0) return fail(errno);
  const int fd = f.fd;
  f.fd = -1;
  if (close(fd) != 0) return fail(errno);
  if (rename(tmp.c_str(), checkpoint_file().c_str()) != 0) return fail(errno);
  Fd d{open(dir_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC)};
  if (d.fd < 0 || fsync(d.fd) != 0) return CannotUpdate(dir_, errno);
  return Status::Ok();
}

}  // namespace client
