/** Frame tags of the parent ⇄ child control channel (fd 3). */
import { Tag } from '../wire/frames.js';

export const enum ControlTag {
  /** Parent → child: the encoded BootData. */
  Boot = Tag.Control,
}

/** Set by the parent when the child's parent-death signal was set before exec (setpriv). */
export const PDEATHSIG_ARG = '--billiard-pdeathsig-set';
