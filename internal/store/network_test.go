package store_test

import (
	"errors"
	"testing"

	"github.com/minicloud/minicloud/internal/cloud"
	"github.com/minicloud/minicloud/internal/store"
)

// defaultNetwork returns a default network of account with one subnet per
// zone.
func defaultNetwork(account, suffix string, zones ...string) *store.DefaultNetwork {
	vpc := &cloud.VPC{ID: "vpc-" + suffix, OwnerID: account, CIDRBlock: "172.31.0.0/16", IsDefault: true}
	n := &store.DefaultNetwork{
		VPC:   vpc,
		Group: &cloud.SecurityGroup{ID: "sg-" + suffix, Name: "default", OwnerID: account, VPCID: vpc.ID},
	}
	for _, z := range zones {
		n.Subnets = append(n.Subnets, &cloud.Subnet{ID: "subnet-" + z + suffix, VPCID: vpc.ID,
			OwnerID: account, AvailabilityZone: z, DefaultForAZ: true})
	}
	return n
}

func TestDB_EnsureDefaultNetwork(t *testing.T) {
	db := MustOpen(t)
	first, err := db.EnsureDefaultNetwork(defaultNetwork("111", "1", "a"))
	if err != nil {
		t.Fatal(err)
	}

	// A second plan keeps the first's VPC and group, and adds only the
	// new zone's subnet, moved into the kept VPC.
	got, err := db.EnsureDefaultNetwork(defaultNetwork("111", "2", "a", "b"))
	if err != nil {
		t.Fatal(err)
	}
	if got.VPC.ID != first.VPC.ID || got.Group.ID != first.Group.ID || len(got.Subnets) != 2 {
		t.Fatalf("second call = %+v", got)
	}
	if got.Subnets[0].ID != "subnet-a1" || got.Subnets[1].ID != "subnet-b2" || got.Subnets[1].VPCID != "vpc-1" {
		t.Errorf("subnets = %+v, %+v", got.Subnets[0], got.Subnets[1])
	}

	// Another account gets its own.
	other, err := db.EnsureDefaultNetwork(defaultNetwork("222", "3", "a"))
	if err != nil || other.VPC.ID != "vpc-3" {
		t.Errorf("other account = %+v, %v", other, err)
	}
	vpcs, err := db.VPCs()
	if err != nil || len(vpcs) != 2 {
		t.Errorf("vpcs = %d, %v", len(vpcs), err)
	}
}

func TestDB_SecurityGroups(t *testing.T) {
	db := MustOpen(t)
	web := &cloud.SecurityGroup{ID: "sg-web", Name: "web", VPCID: "vpc-1", OwnerID: "111"}
	if err := db.CreateSecurityGroup(web); err != nil {
		t.Fatal(err)
	}

	t.Run("ErrExists", func(t *testing.T) {
		dup := &cloud.SecurityGroup{ID: "sg-other", Name: "web", VPCID: "vpc-1"}
		if err := db.CreateSecurityGroup(dup); !errors.Is(err, store.ErrExists) {
			t.Errorf("same name in the same VPC: %v", err)
		}
		elsewhere := &cloud.SecurityGroup{ID: "sg-other", Name: "web", VPCID: "vpc-2"}
		if err := db.CreateSecurityGroup(elsewhere); err != nil {
			t.Errorf("same name in another VPC: %v", err)
		}
	})

	t.Run("Update", func(t *testing.T) {
		_, err := db.UpdateSecurityGroup("sg-web", func(g *cloud.SecurityGroup) error {
			g.Rules = append(g.Rules, cloud.SecurityGroupRule{ID: "sgr-1", Protocol: "-1", GroupID: "sg-web"})
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		refused := errors.New("refused")
		_, err = db.UpdateSecurityGroup("sg-web", func(g *cloud.SecurityGroup) error {
			g.Rules = nil
			return refused
		})
		if !errors.Is(err, refused) {
			t.Errorf("update error = %v", err)
		}
		g, err := db.SecurityGroup("sg-web")
		if err != nil || len(g.Rules) != 1 {
			t.Errorf("after a refused update: %+v, %v", g, err)
		}
		_, err = db.UpdateSecurityGroup("sg-none", func(*cloud.SecurityGroup) error { return nil })
		if !errors.Is(err, store.ErrNotFound) {
			t.Errorf("update of a missing group: %v", err)
		}
	})

	t.Run("DeleteInUse", func(t *testing.T) {
		// sg-other's rule names sg-db; an instance is in sg-db.
		db.CreateSecurityGroup(&cloud.SecurityGroup{ID: "sg-db", Name: "db", VPCID: "vpc-1"})
		db.UpdateSecurityGroup("sg-other", func(g *cloud.SecurityGroup) error {
			g.Rules = []cloud.SecurityGroupRule{{ID: "sgr-2", GroupID: "sg-db"}}
			return nil
		})
		inst := newInstance("i-0000000000000000a", "esxi-1")
		inst.SecurityGroups = []cloud.GroupIdentifier{{ID: "sg-db", Name: "db"}}
		if _, err := db.CreateInstances([]*cloud.Instance{inst}, nil); err != nil {
			t.Fatal(err)
		}
		ok := func(*cloud.SecurityGroup) error { return nil }

		var inUse *store.InUseError
		err := db.DeleteSecurityGroup("sg-db", ok)
		if !errors.As(err, &inUse) || inUse.By != inst.ID || !errors.Is(err, store.ErrInUse) {
			t.Fatalf("delete a group an instance is in: %v", err)
		}
		db.UpdateInstance(inst.ID, func(i *cloud.Instance) error { i.State = cloud.StateTerminated; return nil })
		if err := db.DeleteSecurityGroup("sg-db", ok); !errors.As(err, &inUse) || inUse.By != "sg-other" {
			t.Fatalf("delete a group another group's rule names: %v", err)
		}
		db.UpdateSecurityGroup("sg-other", func(g *cloud.SecurityGroup) error { g.Rules = nil; return nil })
		if err := db.DeleteSecurityGroup("sg-db", ok); err != nil {
			t.Fatal(err)
		}
		if err := db.DeleteSecurityGroup("sg-db", ok); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("delete again: %v", err)
		}
	})
}

func TestDB_UpdateTags(t *testing.T) {
	db := MustOpen(t)
	db.CreateSecurityGroup(&cloud.SecurityGroup{ID: "sg-1", Name: "a", OwnerID: "111"})
	db.CreateSecurityGroup(&cloud.SecurityGroup{ID: "sg-2", Name: "b", OwnerID: "222"})
	db.PutImage(&cloud.Image{ID: "ami-1", OwnerID: "111"})
	if _, err := db.CreateInstances([]*cloud.Instance{newInstance("i-1", "esxi-1")}, nil); err != nil {
		t.Fatal(err)
	}
	mine := func(v any) (store.TagSlot, bool) {
		var tags *cloud.Tags
		ok := true
		switch r := v.(type) {
		case *cloud.SecurityGroup:
			tags, ok = &r.Tags, r.OwnerID == "111"
		case *cloud.Image:
			tags = &r.Tags
		case *cloud.Instance:
			tags = &r.Tags
		default:
			return store.TagSlot{}, false
		}
		return store.TagSlot{Get: func() cloud.Tags { return *tags },
			Set: func(t cloud.Tags) { *tags = t }}, ok
	}
	add := func(tags cloud.Tags) (cloud.Tags, error) {
		if tags == nil {
			tags = cloud.Tags{}
		}
		tags["env"] = "lab"
		return tags, nil
	}

	// A resource that is missing or refused fails the whole call.
	var missing *store.MissingError
	err := db.UpdateTags([]string{"sg-1", "sg-2", "subnet-9"}, mine, add)
	if !errors.As(err, &missing) || len(missing.IDs) != 2 {
		t.Fatalf("err = %v, want sg-2 and subnet-9 missing", err)
	}
	if g, _ := db.SecurityGroup("sg-1"); len(g.Tags) != 0 {
		t.Error("a failed call tagged sg-1")
	}

	if err := db.UpdateTags([]string{"sg-1", "ami-1", "i-1"}, mine, add); err != nil {
		t.Fatal(err)
	}
	g, _ := db.SecurityGroup("sg-1")
	img, _ := db.Image("ami-1")
	inst, _ := db.Instance("i-1")
	if g.Tags["env"] != "lab" || img.Tags["env"] != "lab" || inst.Tags["env"] != "lab" || inst.Tags["Name"] != "web" {
		t.Errorf("tags: group %v, image %v, instance %v", g.Tags, img.Tags, inst.Tags)
	}
}

func TestDB_CreateImage(t *testing.T) {
	db := MustOpen(t)
	if err := db.CreateImage(&cloud.Image{ID: "ami-1", Name: "web", OwnerID: "111"}); err != nil {
		t.Fatal(err)
	}
	var taken *store.NameTakenError
	err := db.CreateImage(&cloud.Image{ID: "ami-2", Name: "web", OwnerID: "111"})
	if !errors.As(err, &taken) || taken.ImageID != "ami-1" || !errors.Is(err, store.ErrExists) {
		t.Errorf("same name, same owner: %v", err)
	}
	if err := db.CreateImage(&cloud.Image{ID: "ami-3", Name: "web", OwnerID: "222"}); err != nil {
		t.Errorf("same name, another owner: %v", err)
	}

	// The instance changes with the image, or neither is written.
	inst := newInstance("i-1", "esxi-1")
	if _, err := db.CreateInstances([]*cloud.Instance{inst}, nil); err != nil {
		t.Fatal(err)
	}
	stop := func(i *cloud.Instance) error { i.State = cloud.StateStopping; return nil }
	if _, err := db.CreateImageFrom(&cloud.Image{ID: "ami-4", Name: "web", OwnerID: "111"}, "i-1", stop); err == nil {
		t.Error("a taken name was accepted")
	}
	if got, _ := db.Instance("i-1"); got.State != cloud.StatePending {
		t.Errorf("the instance changed although the image was refused: %s", got.State)
	}
	got, err := db.CreateImageFrom(&cloud.Image{ID: "ami-4", Name: "web-2", OwnerID: "111"}, "i-1", stop)
	if err != nil || got.State != cloud.StateStopping {
		t.Fatalf("CreateImageFrom = %+v, %v", got, err)
	}
	_, err = db.CreateImageFrom(&cloud.Image{ID: "ami-5", Name: "x", OwnerID: "111"}, "i-9", stop)
	if !errors.Is(err, store.ErrNotFound) {
		t.Errorf("from a missing instance: %v", err)
	}

	// A deregistered image gives its name back.
	db.UpdateImage("ami-1", func(i *cloud.Image) error { i.State = cloud.ImageDeregistered; return nil })
	if err := db.CreateImage(&cloud.Image{ID: "ami-6", Name: "web", OwnerID: "111"}); err != nil {
		t.Errorf("the name of a deregistered image: %v", err)
	}
}
