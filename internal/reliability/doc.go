// Package reliability holds the tests that turn minicloud's promises into
// numbers (docs/reliability.md): a crash torture that kills minicloud
// with SIGKILL while clients launch hundreds of instances, a load of fifty
// clients mixing what EC2 users do, and the same load while simulated
// ESXi hosts go down, turn slow and fail vim-cmd calls.
//
// It has no code of its own. Its tests build cmd/minicloud, with the race
// detector when they are built with it, and run the binary as a process of
// its own, configured to drive simulated hosts that serve SSH from the
// test's process and so outlive each minicloud they kill. Short runs are
// part of make test; .ci/torture and .ci/load make long ones.
package reliability
