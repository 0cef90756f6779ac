// The adapter kinds this daemon is built with: the one place that names them.
#pragma once

#include <memory>
#include <vector>

#include "bridge/adapter.hpp"

namespace xpmn::daemon {

std::vector<std::unique_ptr<bridge::AdapterKind>> adapter_kinds();

}  // namespace xpmn::daemon
