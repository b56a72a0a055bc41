package admin

import "context"

// Do sends a signed request for path with any method, for tests of the
// routes Client has no method for.
func Do(ctx context.Context, c *Client, method, path string, out any) error {
	return c.do(ctx, method, path, out)
}
