/** Doorman's release, reported by `/api/v1/health`. */
export const VERSION = "0.1.0";
