package config

// DefaultPluginDir is node.plugin_dir when the policy does not set it. A
// variable so that a distribution build can set its own with
// -ldflags "-X github.com/hawatch/hawatch/core/config.DefaultPluginDir=..."
// (the Debian package: /usr/libexec/hawatch), and a policy converted from
// keepalived finds the packaged plugins without naming the directory.
var DefaultPluginDir = "/usr/local/libexec/hawatch"
