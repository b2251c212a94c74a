// The loopback HTTP servers of provd (tiles, metrics) are GET-only
// cpp-httplib servers on their own thread; this is their common start.
#pragma once

#include <string>
#include <thread>

#include "verifier/status.h"

namespace httplib {
class Server;
}

namespace ledger {

// Answers every method but GET with 404, binds `host`:`port` (0: any free
// port) and serves on a new `*thread`. Returns the bound port, or
// FAILED_PRECONDITION `reason` "cannot listen on LISTEN".
verifier::Result<int> ListenGetOnly(httplib::Server& server, const std::string& host, int port,
                                    const std::string& listen, const std::string& reason,
                                    std::thread* thread);

}  // namespace ledger
