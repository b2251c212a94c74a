// prov subcommands that judge devices: check, scan, delivery check, bundle.
#include "client/cli.h"

namespace prov {

void AddCheckCommands(CLI::App& app) {}

}  // namespace prov
