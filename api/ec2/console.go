package ec2

import (
	"encoding/base64"

	"github.com/minicloud/minicloud/internal/cloud"
)

func decodeGetConsoleOutput(p *params) (*cloud.GetConsoleOutputInput, error) {
	in := &cloud.GetConsoleOutputInput{
		DryRun:     p.boolean("DryRun"),
		InstanceID: p.str("InstanceId"),
		Latest:     p.boolean("Latest"),
	}
	if in.InstanceID == "" {
		p.fail(cloud.MissingParameter("InstanceId"))
	}
	return in, p.err
}

// encodeConsoleOutput writes the console's end in base64, as EC2 does;
// the aws CLI and the SDKs' helpers decode it. No output, no element.
func encodeConsoleOutput(e *encoder, out *cloud.ConsoleOutput) {
	e.text("instanceId", out.InstanceID)
	e.timestamp("timestamp", out.Timestamp)
	if len(out.Output) > 0 {
		e.text("output", base64.StdEncoding.EncodeToString(out.Output))
	}
}
