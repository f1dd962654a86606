import { startPopa3d } from '../helpers/servers/popa3d.js';
import { defineSmokeSuite } from './smoke-suite.js';

defineSmokeSuite('popa3d', startPopa3d);
