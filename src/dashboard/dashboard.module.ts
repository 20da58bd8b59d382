import { Module } from '@nestjs/common';
import { DashboardController } from './dashboard.controller';
import { DashboardHistory } from './dashboard.history';

/** /dashboard: server-rendered pages, no assets, no scripts. */
@Module({ controllers: [DashboardController], providers: [DashboardHistory] })
export class DashboardModule {}
