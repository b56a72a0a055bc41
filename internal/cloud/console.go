package cloud

import (
	"context"
	"time"
)

// Consoles is the part of Service that reads instances' serial consoles.
type Consoles interface {
	// GetConsoleOutput returns the end of what an instance's guest wrote
	// to its serial console. It returns InvalidInstanceID.Malformed or
	// .NotFound for an instance the caller cannot see, and
	// MissingParameter without an instance id.
	GetConsoleOutput(ctx context.Context, in *GetConsoleOutputInput) (*ConsoleOutput, error)
}

// GetConsoleOutputInput is a GetConsoleOutput request.
type GetConsoleOutputInput struct {
	DryRun     bool
	InstanceID string
	// Latest asks for the output as it is now rather than as buffered
	// at the last state change; minicloud always reads it as it is now.
	Latest bool
}

// ConsoleOutput is the end of an instance's serial console.
type ConsoleOutput struct {
	InstanceID string
	// Timestamp is when the output was last written, or when it was
	// asked for if there is none.
	Timestamp time.Time
	// Output is the console's last 64 KiB at most, as the guest wrote
	// them; the API encodes them in base64. Empty when there are none.
	Output []byte
}
