package bench

import (
	"context"
	"fmt"
	"net/url"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
)

// The API scenarios, in the order they run: run creates the instances
// the others read, and tags, which makes every answer longer, comes last.
const (
	ScenarioRun         = "run"
	ScenarioDescribeOne = "describe-one"
	ScenarioDescribeAll = "describe-all"
	ScenarioTags        = "tags"
	ScenarioLaunch      = "launch"
)

// The two clients.
const (
	ModeSDK = "sdk"
	ModeRaw = "raw"
)

// Sizes of the API scenarios' calls.
const (
	runBatch     = 10   // instances per RunInstances
	listPageSize = 1000 // MaxResults of a listing's pages
	tagBatch     = 100  // instances per CreateTags
	instanceType = "t3.micro"
)

// fleet is what the run scenario left on one target: the image it used
// and the ids of the instances it created.
type fleet struct {
	imageID string
	ids     []string
}

// apiResult is one scenario's result against one target.
type apiResult struct {
	scenario, mode string
	result         Result
}

// driveAPI runs every API scenario against ep. For the ceiling, f is
// minicloud's fleet: its answers name those instances.
func (r *runner) driveAPI(ctx context.Context, ep *endpoint, f *fleet) ([]apiResult, *fleet, error) {
	var out []apiResult
	add := func(scenario, mode string, res Result) {
		r.progress("  %-9s %-12s %-3s %s", ep.name, scenario, mode, res)
		out = append(out, apiResult{scenario, mode, res})
	}

	// run: until the target holds Instances instances.
	res, made, err := r.runScenario(ctx, ep, f.imageID)
	if err != nil {
		return nil, nil, fmt.Errorf("%s %s: %w", ep.name, ScenarioRun, err)
	}
	add(ScenarioRun, ModeSDK, res)
	if f.ids == nil {
		f = &fleet{imageID: f.imageID, ids: made}
	}
	if len(f.ids) == 0 {
		return out, f, fmt.Errorf("%s: run created no instances: %s", ep.name, res.FirstError)
	}

	// The reads, with each client.
	for _, mode := range []string{ModeSDK, ModeRaw} {
		res, err := r.describeOne(ctx, ep, f.ids, mode)
		if err != nil {
			return nil, nil, fmt.Errorf("%s %s %s: %w", ep.name, ScenarioDescribeOne, mode, err)
		}
		add(ScenarioDescribeOne, mode, res)
	}
	for _, mode := range []string{ModeSDK, ModeRaw} {
		res, err := r.describeAll(ctx, ep, len(f.ids), mode)
		if err != nil {
			return nil, nil, fmt.Errorf("%s %s %s: %w", ep.name, ScenarioDescribeAll, mode, err)
		}
		add(ScenarioDescribeAll, mode, res)
	}

	// tags, last.
	res, err = r.tags(ctx, ep, f.ids)
	if err != nil {
		return nil, nil, fmt.Errorf("%s %s: %w", ep.name, ScenarioTags, err)
	}
	add(ScenarioTags, ModeSDK, res)
	return out, f, nil
}

// warmUp makes one untimed call and records its answer: minicloud's are
// what the ceiling sends back.
func warmUp(ep *endpoint, call func() error) error {
	ep.rec.setOn(true)
	defer ep.rec.setOn(false)
	return call()
}

// runScenario calls RunInstances for runBatch instances at a time until
// Instances exist, and returns the ids it was given.
func (r *runner) runScenario(ctx context.Context, ep *endpoint, imageID string) (Result, []string, error) {
	var (
		mu  sync.Mutex // guards ids
		ids []string
	)
	call := func(ctx context.Context) error {
		out, err := ep.sdk.RunInstances(ctx, &ec2.RunInstancesInput{
			ImageId: aws.String(imageID), InstanceType: types.InstanceType(instanceType),
			MinCount: aws.Int32(runBatch), MaxCount: aws.Int32(runBatch),
		})
		if err != nil {
			return err
		}
		if len(out.Instances) != runBatch {
			return fmt.Errorf("RunInstances acknowledged %d instances, want %d",
				len(out.Instances), runBatch)
		}
		mu.Lock()
		for _, inst := range out.Instances {
			ids = append(ids, aws.ToString(inst.InstanceId))
		}
		mu.Unlock()
		return nil
	}

	if err := warmUp(ep, func() error { return call(ctx) }); err != nil {
		return Result{}, nil, err
	}
	calls := r.opts.Instances/runBatch - 1
	res := Load{Clients: r.opts.Clients, Count: calls}.run(ctx, func(ctx context.Context, _, _ int) error {
		return call(ctx)
	})
	return res, ids, nil
}

// pick spreads the n-th operation over ids.
func pick(ids []string, n int) string { return ids[(n*7919)%len(ids)] }

// describeOne asks for one instance by id, a different one each call.
func (r *runner) describeOne(ctx context.Context, ep *endpoint, ids []string, mode string) (Result, error) {
	call := func(ctx context.Context, id string) error {
		if mode == ModeRaw {
			_, err := ep.raw.call(ctx, url.Values{
				"Action": {"DescribeInstances"}, "Version": {apiVersion}, "InstanceId.1": {id},
			})
			return err
		}
		out, err := ep.sdk.DescribeInstances(ctx, &ec2.DescribeInstancesInput{InstanceIds: []string{id}})
		if err != nil {
			return err
		}
		if len(out.Reservations) != 1 || len(out.Reservations[0].Instances) != 1 {
			return fmt.Errorf("DescribeInstances of %s answered %d reservations", id,
				len(out.Reservations))
		}
		return nil
	}

	if err := warmUp(ep, func() error { return call(ctx, ids[0]) }); err != nil {
		return Result{}, err
	}
	load := Load{Clients: r.opts.Clients, Duration: r.opts.Duration}
	return load.run(ctx, func(ctx context.Context, _, n int) error {
		return call(ctx, pick(ids, n))
	}), nil
}

// describeAll lists every instance in pages of listPageSize and checks
// that the listing holds want of them (the SDK) or is not empty (raw).
// BytesPerOp is the size of a whole listing.
func (r *runner) describeAll(ctx context.Context, ep *endpoint, want int, mode string) (Result, error) {
	var bytes atomic.Int64
	call := func(ctx context.Context) error {
		if mode == ModeRaw {
			n, err := listRaw(ctx, ep, want)
			bytes.Store(n)
			return err
		}
		return listSDK(ctx, ep, want)
	}

	// Only minicloud needs a first listing, to record it for the ceiling:
	// on moto one listing takes many seconds.
	if ep.name == "minicloud" {
		if err := warmUp(ep, func() error { return call(ctx) }); err != nil {
			return Result{}, err
		}
	}
	load := Load{Clients: r.opts.ListClients, Duration: r.opts.Duration}
	res := load.run(ctx, func(ctx context.Context, _, _ int) error { return call(ctx) })
	res.BytesPerOp = bytes.Load()
	return res, nil
}

// listSDK lists every instance with the SDK's paginator.
func listSDK(ctx context.Context, ep *endpoint, want int) error {
	p := ec2.NewDescribeInstancesPaginator(ep.sdk, &ec2.DescribeInstancesInput{
		MaxResults: aws.Int32(listPageSize),
	})
	got := 0
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return err
		}
		for _, res := range page.Reservations {
			got += len(res.Instances)
		}
	}
	if got != want {
		return fmt.Errorf("the listing held %d instances, want %d", got, want)
	}
	return nil
}

// listRaw lists every instance with raw requests, following nextToken,
// and returns the listing's size in bytes. It cannot count instances
// without parsing; the SDK's listing does. moto ignores MaxResults and
// sends everything in one page.
func listRaw(ctx context.Context, ep *endpoint, want int) (int64, error) {
	var size int64
	pages, token := 0, ""
	for {
		form := url.Values{
			"Action": {"DescribeInstances"}, "Version": {apiVersion},
			"MaxResults": {strconv.Itoa(listPageSize)},
		}
		if token != "" {
			form.Set("NextToken", token)
		}
		ans, err := ep.raw.call(ctx, form)
		if err != nil {
			return size, err
		}
		size += ans.size
		pages++
		if token = ans.nextToken(); token == "" {
			break
		}
	}
	if size == 0 {
		return 0, fmt.Errorf("the listing of %d pages was empty", pages)
	}
	return size, nil
}

// tags tags tagBatch instances a call, a different slice of them each
// time.
func (r *runner) tags(ctx context.Context, ep *endpoint, ids []string) (Result, error) {
	call := func(ctx context.Context, n int) error {
		batch := make([]string, 0, tagBatch)
		for i := range tagBatch {
			batch = append(batch, ids[(n*tagBatch+i)%len(ids)])
		}
		_, err := ep.sdk.CreateTags(ctx, &ec2.CreateTagsInput{
			Resources: batch,
			Tags:      []types.Tag{{Key: aws.String("bench"), Value: aws.String(strconv.Itoa(n))}},
		})
		return err
	}

	if err := warmUp(ep, func() error { return call(ctx, 0) }); err != nil {
		return Result{}, err
	}
	load := Load{Clients: r.opts.Clients, Duration: r.opts.Duration}
	return load.run(ctx, func(ctx context.Context, _, n int) error { return call(ctx, n) }), nil
}
