package cloud

import (
	"errors"
	"fmt"
	"strings"
)

// EC2 error codes minicloud answers with. The API adapter maps each code to
// the HTTP status EC2 uses; see api/ec2.
const (
	ErrCodeInvalidAction               = "InvalidAction"
	ErrCodeMissingParameter            = "MissingParameter"
	ErrCodeInvalidParameter            = "InvalidParameter"
	ErrCodeInvalidParameterValue       = "InvalidParameterValue"
	ErrCodeInvalidParameterCombination = "InvalidParameterCombination"
	ErrCodeUnknownParameter            = "UnknownParameter"
	ErrCodeInvalidQueryParameter       = "InvalidQueryParameter"
	ErrCodeInvalidInstanceIDMalformed  = "InvalidInstanceID.Malformed"
	ErrCodeInvalidInstanceIDNotFound   = "InvalidInstanceID.NotFound"
	ErrCodeIncorrectInstanceState      = "IncorrectInstanceState"
	ErrCodeInvalidAMIIDMalformed       = "InvalidAMIID.Malformed"
	ErrCodeInvalidAMIIDNotFound        = "InvalidAMIID.NotFound"
	ErrCodeInvalidInstanceType         = "InvalidInstanceType"
	ErrCodeInvalidAvailabilityZone     = "InvalidAvailabilityZone"
	ErrCodeInvalidNextToken            = "InvalidNextToken"
	ErrCodeInvalidID                   = "InvalidID"
	ErrCodeInvalidTagKeyMalformed      = "InvalidTagKey.Malformed"
	ErrCodeTagLimitExceeded            = "TagLimitExceeded"
	ErrCodeInvalidRegion               = "InvalidRegion"
	ErrCodeIdempotentParameterMismatch = "IdempotentParameterMismatch"
	ErrCodeDryRunOperation             = "DryRunOperation"
	ErrCodeUnauthorizedOperation       = "UnauthorizedOperation"
	ErrCodeOperationNotPermitted       = "OperationNotPermitted"
	ErrCodeAuthFailure                 = "AuthFailure"
	ErrCodeSignatureDoesNotMatch       = "SignatureDoesNotMatch"
	ErrCodeIncompleteSignature         = "IncompleteSignature"
	ErrCodeMissingAuthenticationToken  = "MissingAuthenticationToken"
	ErrCodeRequestExpired              = "RequestExpired"
	ErrCodeInsufficientCapacity        = "InsufficientInstanceCapacity"
	ErrCodeRequestLimitExceeded        = "RequestLimitExceeded"
	ErrCodeUnsupported                 = "Unsupported"
	ErrCodeInternalError               = "InternalError"
	ErrCodeServiceUnavailable          = "Unavailable"
)

// Error is a failure with an EC2 error code. The service returns it for every
// fault a client can act on; anything else reaching the API is reported as
// InternalError.
type Error struct {
	Code    string
	Message string
}

// Error returns the code and message.
func (e *Error) Error() string { return e.Code + ": " + e.Message }

// Errorf returns an *Error with code and a formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the EC2 code of err, or InternalError when err carries
// none.
func ErrorCode(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return ErrCodeInternalError
}

// ErrDryRun is the answer to a DryRun request that would have succeeded.
var ErrDryRun = &Error{
	Code:    ErrCodeDryRunOperation,
	Message: "Request would have succeeded, but DryRun flag is set.",
}

// MissingParameter reports that a required parameter is absent.
func MissingParameter(name string) *Error {
	return Errorf(ErrCodeMissingParameter,
		"The request must contain the parameter %s", name)
}

// InvalidValue reports a parameter value minicloud cannot accept.
func InvalidValue(name, value, why string) *Error {
	return Errorf(ErrCodeInvalidParameterValue,
		"Value (%s) for parameter %s is invalid. %s", value, name, why)
}

// InstancesNotFound reports instance ids that do not exist, worded as EC2
// words it for one id and for several.
func InstancesNotFound(ids []string) *Error {
	if len(ids) == 1 {
		return Errorf(ErrCodeInvalidInstanceIDNotFound,
			"The instance ID '%s' does not exist", ids[0])
	}
	return Errorf(ErrCodeInvalidInstanceIDNotFound,
		"The instance IDs '%s' do not exist", strings.Join(ids, ", "))
}

// IncorrectState reports an instance whose state forbids the operation.
func IncorrectState(id string) *Error {
	return Errorf(ErrCodeIncorrectInstanceState,
		"The instance '%s' is not in a state from which the requested operation can be performed.", id)
}

// InsufficientCapacity reports that no host can take the requested
// instances.
func InsufficientCapacity(detail string) *Error {
	msg := "We currently do not have sufficient capacity in the Availability Zone you requested."
	if detail != "" {
		msg += " " + detail
	}
	return &Error{Code: ErrCodeInsufficientCapacity, Message: msg}
}
