import { startCyrus } from '../helpers/servers/cyrus.js';
import { defineSmokeSuite } from './smoke-suite.js';

defineSmokeSuite('cyrus', startCyrus);
