// Package pluginhost is the daemon's side of the plugin system: it starts
// check and action plugins (separate processes speaking hashicorp/go-plugin
// gRPC, built with hawatch/sdk), supervises them, and hands the core narrow
// values: a *Check with a result channel and a *Action with a non-blocking
// Notify. It knows nothing about VRRP.
//
// Starting a plugin (Manager.StartCheck, StartAction, Describe):
//   - the binary and every directory above it must be owned by root (or the
//     plugin's user) and not writable by group or others; the error names
//     the offending path (keepalived's enable_script_security rule);
//   - an optional sha256 pin is checked before exec and by go-plugin;
//   - gRPC only, AutoMTLS, no inherited environment, a fresh 0700 socket
//     directory per start inside the manager's private directory;
//   - an optional user: the child runs with that uid/gid, no supplementary
//     groups, and is refused unless /proc shows no capabilities;
//   - after dispense, the plugin's Info name and kind must match the config.
//
// Supervision: a check plugin whose result stream fails (the process
// exited, Watch returned) or that sends nothing, not even a heartbeat, for
// max(2*interval+timeout, 1s) twice in a row is killed and restarted with
// backoff (100 ms doubling to 10 s, reset after 30 s of healthy running).
// While it is down the check reports unknown: "plugin exited: …" once, then
// "restarting" every interval. Plugin log lines reach the daemon's zerolog
// logger with their level.
//
// DecodeConfig decodes a `config {}` block against a plugin's schema on the
// plugin's behalf, with file:line:col diagnostics.
package pluginhost
