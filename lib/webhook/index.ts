// The admission webhook's API, exported as 'podshm/webhook' (docs/webhook.md): what a
// webhook of one's own needs to size /dev/shm the way `podshm webhook` does.
export { mutatePod, type MutateOptions, type Mutation, type JsonPatchOperation } from './mutate';
export { reviewAdmission, type Review, type AdmissionReviewResponse, type AdmissionResponse } from './review';
export { parseQuantity } from './quantity';
