package eonpro

import "slices"

// USStates lists the two-letter USPS codes of the places a US clinician can
// hold a license and a patient can be treated from: the 50 states, the
// District of Columbia and the five inhabited territories (American Samoa,
// Guam, the Northern Mariana Islands, Puerto Rico, the US Virgin Islands).
// Military mail codes (AA, AE, AP) are not places of care and are left out.
var USStates = []string{
	"AK", "AL", "AR", "AZ", "CA", "CO", "CT", "DC", "DE", "FL", "GA", "HI", "IA", "ID", "IL", "IN", "KS", "KY",
	"LA", "MA", "MD", "ME", "MI", "MN", "MO", "MS", "MT", "NC", "ND", "NE", "NH", "NJ", "NM", "NV", "NY", "OH",
	"OK", "OR", "PA", "RI", "SC", "SD", "TN", "TX", "UT", "VA", "VT", "WA", "WI", "WV", "WY",
	"AS", "GU", "MP", "PR", "VI",
}

// ValidUSState reports whether code is one of USStates (upper case).
func ValidUSState(code string) bool { return slices.Contains(USStates, code) }
