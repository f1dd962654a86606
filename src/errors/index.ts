export { type ErrorCode, ErrorCodes, errorCodeDescriptions } from './codes.js';
export { type ErrorContext, isMultiPopError, MultiPopError } from './multipop-error.js';
export { toMultiPopError } from './normalize.js';
