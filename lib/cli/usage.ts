import { PodshmError } from '../errors';

/** A bad command line: printed as one line, exit status 2. */
export class UsageError extends PodshmError {
  constructor(message: string) {
    super(message, 'ERR_USAGE');
  }
}
