package ec2

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"

	"github.com/minicloud/minicloud/internal/cloud"
)

// BenchmarkEncodeDescribeInstances writes a DescribeInstances answer of
// 1000 instances, each in its own reservation.
func BenchmarkEncodeDescribeInstances(b *testing.B) {
	out := &cloud.DescribeInstancesOutput{}
	for n := range 1000 {
		i := runningInstance(n)
		out.Reservations = append(out.Reservations,
			&cloud.Reservation{ID: i.ReservationID, OwnerID: i.OwnerID, Instances: []*cloud.Instance{i}})
	}

	// Measure the size once, for bytes per second.
	var size countingWriter
	e := &encoder{xmlWriter: xmlWriter{out: &size}, dnsSuffix: dnsSuffix(testRegion)}
	encodeDescribeInstances(e, out)
	e.flush()
	b.SetBytes(int64(size.Len()))

	buf := make([]byte, 0, flushSize+4<<10)
	b.ReportAllocs()
	for b.Loop() {
		e := &encoder{xmlWriter: xmlWriter{buf: buf[:0], out: discard}, dnsSuffix: "ec2.internal"}
		encodeDescribeInstances(e, out)
		e.flush()
	}
}

// BenchmarkDecodeRunInstances parses and decodes a RunInstances form as
// the aws CLI sends it.
func BenchmarkDecodeRunInstances(b *testing.B) {
	body := url.Values{
		"Action": {"RunInstances"}, "Version": {"2016-11-15"},
		"ImageId": {"ami-0abcdef1234567890"}, "InstanceType": {"t3.micro"},
		"MinCount": {"2"}, "MaxCount": {"2"}, "KeyName": {"lab"},
		"ClientToken":                     {"0b6f1c2e-5f4e-4a0e-9a7e-0d0f1e2d3c4b"},
		"UserData":                        {"IyEvYmluL3NoCmVjaG8gaGVsbG8="},
		"Placement.AvailabilityZone":      {"us-east-1a"},
		"TagSpecification.1.ResourceType": {"instance"},
		"TagSpecification.1.Tag.1.Key":    {"Name"}, "TagSpecification.1.Tag.1.Value": {"web"},
		"TagSpecification.1.Tag.2.Key": {"env"}, "TagSpecification.1.Tag.2.Value": {"lab"},
	}.Encode()

	b.ReportAllocs()
	for b.Loop() {
		values, err := url.ParseQuery(body)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := decodeRunInstances(&params{values: values}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkServeDescribeInstances measures a whole signed request, from
// signature check to the last byte of a two-instance answer.
func BenchmarkServeDescribeInstances(b *testing.B) {
	h := newTestHandler(b, newFake(), func(o *Options) { o.Logger = nil })
	body := url.Values{"Action": {"DescribeInstances"}, "Version": {"2016-11-15"}}.Encode()
	signed := goodSigner.post(b, "http://ec2.test/", url.Values{
		"Action": {"DescribeInstances"}, "Version": {"2016-11-15"}})

	b.ReportAllocs()
	for b.Loop() {
		req := httptest.NewRequest(http.MethodPost, "http://ec2.test/", bytes.NewReader([]byte(body)))
		req.Header = signed.Header
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			b.Fatalf("status %d: %s", rec.Code, rec.Body)
		}
	}
}
