// prov subcommands for registering facts: authority (organisations,
// ownership, key enrolment and revocation), manufacturer (components,
// models, firmware, devices, bulk import), transfer and device status.
#include "client/cli.h"

namespace prov {

void AddRegistryCommands(CLI::App& app) {}

}  // namespace prov
