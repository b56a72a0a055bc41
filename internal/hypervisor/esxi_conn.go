package hypervisor

// resetter is a transport that can forget a refused login or host key,
// as SSHTransport can.
type resetter interface{ Reset() }

// ResetConnection clears a refused login or host key recorded by the
// driver's transport, and any backoff, so that the next command dials the
// host again. It contacts nothing itself. Call it only when something
// changed (the credentials, the expected key) or a person asked for one
// more attempt: every dial with a wrong password counts toward ESXi's
// lockout.
func (d *ESXi) ResetConnection() {
	if r, ok := d.t.(resetter); ok {
		r.Reset()
	}
}
