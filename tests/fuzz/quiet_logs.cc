// Linked into every fuzz target: protobuf's parse errors on invalid UTF-8
// are expected on hostile input, and writing each one to stderr would spend
// most of a fuzzing run on logging. Fatal messages still abort.
#include <google/protobuf/stubs/logging.h>

namespace {
const bool kQuiet = (google::protobuf::SetLogHandler(nullptr), true);
}  // namespace
