/** Frame tags of the parent ⇄ child control channel (fd 3). */
import { Tag } from '../wire/frames.js';

export const enum ControlTag {
  /** Parent → child: the encoded BootData. */
  Boot = Tag.Control,
  /** First tag free for the protocols that run over the control channel (the pool). */
  User = Tag.Control + 8,
}

/** The forkserver's server process: import the preload modules, then fork on request. */
export const FORKSERVER_ARG = '--billiard-forkserver';
/** A module the forkserver imports before it forks. */
export const PRELOAD_ARG = '--billiard-preload=';

/** Set by the parent when the child's parent-death signal was set before exec (setpriv). */
export const PDEATHSIG_ARG = '--billiard-pdeathsig-set';

import type { FrameChannel } from '../wire/channel.js';

let control: FrameChannel | null = null;

/** @internal In a child: the channel to its parent (fd 3). */
export function controlChannel(): FrameChannel | null {
  return control;
}

export function setControlChannel(channel: FrameChannel): void {
  control = channel;
}
