package ses

import (
	"errors"
	"fmt"

	"github.com/aws/smithy-go"

	"github.com/eonpro/eonpro"
)

// permanent holds the codes of refusals that sending the same message
// again cannot cure: its content or addresses, or the sending identity or
// account, are refused until someone changes them.
var permanent = map[string]bool{
	"MessageRejected":                    true,
	"MailFromDomainNotVerifiedException": true,
	"AccountSuspendedException":          true,
	"SendingPausedException":             true,
	"NotFoundException":                  true,
	"BadRequestException":                true,
}

// descriptions are what a DeliveryError says for a code. SES's own
// messages can name the addresses that failed a check, so they are never
// passed on.
var descriptions = map[string]string{
	"MessageRejected":                    "SES rejected the message.",
	"MailFromDomainNotVerifiedException": "The sender's address or MAIL FROM domain is not verified in SES.",
	"AccountSuspendedException":          "The SES account may not send.",
	"SendingPausedException":             "Sending is paused for the SES account or configuration set.",
	"NotFoundException":                  "A resource the request names (such as the configuration set) does not exist in SES.",
	"BadRequestException":                "SES found the request invalid.",
	"TooManyRequestsException":           "SES is throttling requests.",
	"LimitExceededException":             "The SES sending quota or rate is exceeded.",
	"SignatureDoesNotMatch":              "SES refused the AWS credentials.",
	"UnrecognizedClientException":        "SES refused the AWS credentials.",
	"InvalidClientTokenId":               "SES refused the AWS credentials.",
	"ExpiredTokenException":              "SES refused the AWS credentials.",
	"AccessDeniedException":              "The AWS credentials may not send with SES.",
}

// classify turns an error of SendEmail into a *DeliveryError when SES
// answered with a code. Everything not listed in permanent is temporary:
// throttling, quotas and server faults pass, and so do refused
// credentials and permissions, because the message is sound and only the
// configuration is wrong; its job keeps retrying, visibly failing, until
// an operator fixes the credentials, instead of dropping the message. An
// error without an answer (network, timeout, cancellation) is returned
// wrapped and is temporary too; its text holds only the endpoint.
func classify(err error) error {
	var api smithy.APIError
	if !errors.As(err, &api) {
		return fmt.Errorf("ses: send email: %w", err)
	}
	code := api.ErrorCode()
	msg, ok := descriptions[code]
	if !ok {
		msg = "SES refused the request."
	}
	return &eonpro.DeliveryError{Provider: "ses", Code: code, Message: msg, Permanent: permanent[code]}
}
