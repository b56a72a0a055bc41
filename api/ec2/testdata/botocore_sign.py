#!/usr/bin/env python3
"""Sign EC2 requests with botocore, without sending them, for the Go tests.

Usage: botocore_sign.py ENDPOINT ACCESS_KEY SECRET REGION

Prints JSON: "post" is a DescribeInstances request exactly as botocore's
EC2 client would send it (method, URL, headers, body), captured after
signing; "presigned" is a DescribeRegions URL from generate_presigned_url.
"""
import json
import sys

import botocore.session


class Captured(Exception):
    """Raised to stop botocore once the signed request is in hand."""


def main():
    endpoint, key, secret, region = sys.argv[1:5]
    session = botocore.session.get_session()
    client = session.create_client(
        "ec2", region_name=region, endpoint_url=endpoint,
        aws_access_key_id=key, aws_secret_access_key=secret)

    # Capture the request at the last moment before it would be sent.
    captured = {}

    def capture(request, **_):
        body = request.body or b""
        if isinstance(body, str):
            body = body.encode()
        captured.update(
            method=request.method, url=request.url,
            headers={k: (v.decode() if isinstance(v, bytes) else v)
                     for k, v in request.headers.items()},
            body=body.decode())
        raise Captured()

    client.meta.events.register("before-send.ec2.DescribeInstances", capture)
    try:
        client.describe_instances(
            InstanceIds=["i-0123456789abc0001"],
            Filters=[{"Name": "tag:Name", "Values": ["web *", "db/1"]}])
    except Captured:
        pass

    presigned = client.generate_presigned_url(
        "describe_regions", Params={"RegionNames": ["us-east-1"]}, ExpiresIn=300)
    json.dump({"post": captured, "presigned": presigned}, sys.stdout)


if __name__ == "__main__":
    main()
