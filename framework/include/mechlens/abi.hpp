#pragma once
// The plugin ABI version. Bump it whenever any type a plugin sees
// (everything under include/mechlens/) changes layout or meaning; the host
// refuses a plugin built against another version before calling into it.
namespace mechlens {
inline constexpr int kPluginAbiVersion = 4;  // 3: PluginFactory::report; 4: PluginFactory::merge, RunContext::recipe_inputs
inline constexpr const char* kVersion = "0.1.0";
}  // namespace mechlens
