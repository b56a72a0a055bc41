package compute

// SetFailpoint makes fn run at each of the controller's failpoints; nil
// removes it. Set it before Run.
func SetFailpoint(fn func(name string)) { failpoint = fn }
