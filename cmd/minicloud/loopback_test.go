package main

import "github.com/minicloud/minicloud/internal/loopback"

// loopbackClient is the HTTP client the tests give aws-sdk-go-v2; see
// package loopback for the race it avoids.
var loopbackClient = loopback.NewClient()
