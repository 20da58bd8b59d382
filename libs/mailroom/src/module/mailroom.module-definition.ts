import { ConfigurableModuleBuilder } from '@nestjs/common';
import type { MailroomOptions } from '../client/mailroom.options';

export const { ConfigurableModuleClass, MODULE_OPTIONS_TOKEN: MAILROOM_OPTIONS } =
  new ConfigurableModuleBuilder<MailroomOptions>()
    .setClassMethodName('forRoot')
    .setExtras({ isGlobal: true }, (definition, extras) => ({ ...definition, global: extras.isGlobal }))
    .build();
