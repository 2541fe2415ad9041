// One error type for untrusted input, like certs.errors.VerificationError: a stable code,
// a message, and the field at fault.

export class VerificationError extends Error {
  constructor(code, message, field) {
    super(message);
    this.code = code;
    this.field = field;
  }
}
