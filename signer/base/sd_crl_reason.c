#include <string.h>

#include "sd_crl_reason.h"

static const char *const sd_crl_reasons[SD_CRL_REASON_MAX + 1] = {
	"unspecified", "keyCompromise", "cACompromise", "affiliationChanged", "superseded",
	"cessationOfOperation", "certificateHold", NULL, "removeFromCRL", "privilegeWithdrawn", "aACompromise",
};

const char *
sd_crl_reason_name(uint8_t code)
{
	return code > SD_CRL_REASON_MAX ? NULL : sd_crl_reasons[code];
}

int
sd_crl_reason_parse(const char *name, uint8_t *code)
{
	uint8_t i;

	for (i = 0; i <= SD_CRL_REASON_MAX; i++) {
		if (sd_crl_reasons[i] != NULL && strcmp(name, sd_crl_reasons[i]) == 0) {
			*code = i;
			return 0;
		}
	}
	return sd_error_set(SD_E_INVAL, "\"%.40s\" is not an RFC 5280 CRLReason (keyCompromise, superseded, ...)", name);
}

int
sd_crl_reason_final(uint8_t code)
{
	if (sd_crl_reason_name(code) == NULL)
		return sd_error_set(SD_E_INVAL, "reason code %u is not an RFC 5280 CRLReason", code);
	if (code == 6 || code == 8)
		return sd_error_set(SD_E_INVAL, "reason %s is refused: a revocation is final here", sd_crl_reason_name(code));
	return 0;
}
